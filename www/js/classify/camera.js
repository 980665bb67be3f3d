// @ts-check
/**
 * The webcam: the list of cameras (enumerateDevices, labelled once permission is given), a
 * stream into a <video>, stopped on request (every track, so the camera light goes off).
 * Failures become messages that say what to do.
 */

/** A user-facing message for a getUserMedia failure. @param {unknown} e */
export function cameraProblem(e) {
  const name = /** @type {any} */ (e)?.name ?? '';
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return 'Camera permission was denied: allow the camera for this page in the browser (the icon in the address bar), then press Start camera again.';
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'No camera was found: connect one, or classify a file, a sample photo or a drawing instead.';
    case 'NotReadableError':
    case 'AbortError':
      return 'The camera could not be started: another application may be using it.';
    default:
      return `The camera could not be started: ${/** @type {any} */ (e)?.message ?? e}`;
  }
}

export class Camera {
  /** @param {HTMLVideoElement} video */
  constructor(video) {
    this.video = video;
    /** @type {MediaStream | null} */
    this.stream = null;
  }

  /** Whether the browser offers camera access at all (it needs a secure page). */
  static supported() {
    return !!navigator.mediaDevices?.getUserMedia;
  }

  /** @returns {Promise<{deviceId: string, label: string}[]>} the cameras, labelled where the browser says */
  async devices() {
    if (!navigator.mediaDevices?.enumerateDevices) return [];
    const all = await navigator.mediaDevices.enumerateDevices();
    return all.filter((d) => d.kind === 'videoinput').map((d, i) => ({ deviceId: d.deviceId, label: d.label || `Camera ${i + 1}` }));
  }

  /** @param {string} [deviceId] a camera from `devices()`; absent: the browser's choice */
  async start(deviceId) {
    if (!Camera.supported()) {
      throw new Error('This browser gives this page no camera access (it needs https or localhost, and a browser with getUserMedia).');
    }
    this.stop();
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: deviceId ? { deviceId: { exact: deviceId }, width: { ideal: 640 }, height: { ideal: 480 } } : { width: { ideal: 640 }, height: { ideal: 480 } },
        audio: false,
      });
    } catch (e) {
      throw new Error(cameraProblem(e));
    }
    this.stream = stream;
    this.video.srcObject = stream;
    this.video.muted = true;
    await this.video.play();
    if (this.video.videoWidth === 0) {
      await new Promise((resolve) => this.video.addEventListener('loadeddata', resolve, { once: true }));
    }
  }

  /** The device that runs, when the browser says. */
  deviceId() {
    return this.stream?.getVideoTracks()[0]?.getSettings().deviceId ?? '';
  }

  get running() {
    return !!this.stream;
  }

  /** Whether a frame can be read (running and decoded). */
  ready() {
    return this.running && this.video.readyState >= 2 && this.video.videoWidth > 0;
  }

  stop() {
    for (const track of this.stream?.getTracks() ?? []) track.stop();
    this.stream = null;
    this.video.srcObject = null;
  }
}
