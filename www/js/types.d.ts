// Types of `globalThis.convlab`. The tensor and result types mirror the ones wasm-bindgen writes
// into pkg/convlab.d.ts from the core's `typescript_custom_section` (src/bindings/mod.rs);
// `make typecheck` checks the front end against both.

export type {
  Tensor, Padding, BackendName, Conv2dOptions, DepthwiseOptions, PoolOptions, DenseOptions,
  BatchNormOptions, LrnOptions, OpResult, AdapterReport, BackendsReport, ModelSpec,
  ModelSummary, LayerSummary, SummaryOptions, PredictOptions, FeatureMapOptions, Model,
} from '../../pkg/convlab.js';
import type { Model, ModelSpec, ExpandedSpec } from '../../pkg/convlab.js';
export type { ExpandedSpec, ExpandedLayer } from '../../pkg/convlab.js';
import type {
  Tensor, Conv2dOptions, DepthwiseOptions, PoolOptions, DenseOptions, BatchNormOptions,
  LrnOptions, OpResult, BackendsReport, BackendName, AugmentOptions, PreviewResult, KeptTensor,
  KeptResult,
} from '../../pkg/convlab.js';
export type { KeptTensor, KeptResult } from '../../pkg/convlab.js';

/** A tensor argument: `{shape, data}`, or a tensor kept in the core. */
export type TensorArg = Tensor | KeptTensor;
/** `keep: true` answers the result kept in the core (a KeptResult) instead of copied out. */
export interface KeepOption { keep?: boolean; }
/** An op's result: a KeptResult when its options say `keep: true`. */
export type Result<O> = O extends { keep: true } ? KeptResult : OpResult;
export type { AugmentOptions, PreviewResult, TrainerOptions } from '../../pkg/convlab.js';

/** Options of the ops that take only a backend. */
export interface BackendOption { backend?: BackendName | 'auto'; }

/** The API on `globalThis.convlab`. */
export interface Convlab {
  /** Resolves once the module is loaded and the backends are open. */
  ready: Promise<BackendsReport>;
  /** Resolves to a message when `?backend=` in the URL could not be honoured. */
  urlProblem: Promise<string | null>;
  /** The available backends, the active one and why it was chosen. */
  backends(): BackendsReport;
  /** Sets the standing choice; throws when "webgpu" is unavailable, saying why. */
  setBackend(choice: BackendName | 'auto'): BackendsReport;
  /** tf.nn.conv2d on NHWC input and HWIO filters (split across the CPU pool when set). */
  conv2d<O extends (Conv2dOptions) & KeepOption = Conv2dOptions>(x: TensorArg, filters: TensorArg, options?: O): Promise<Result<O> & { threads?: number }>;
  /** How many threads share a CPU convolution (1: this thread only). */
  threads(): number;
  /**
   * Splits CPU convolutions across `n` threads: this one and `n - 1` Web Workers (1 to 16; 1
   * turns the pool off). Works without cross-origin isolation; results are bit-identical to one
   * thread.
   */
  setThreads(n: number): number;
  /** tf.nn.depthwise_conv2d: filters [fh, fw, in, multiplier]. */
  depthwiseConv2d<O extends (DepthwiseOptions) & KeepOption = DepthwiseOptions>(x: TensorArg, filters: TensorArg, options?: O): Promise<Result<O>>;
  /** Depthwise then 1x1 pointwise ([1, 1, in * multiplier, out]), as Xception. */
  separableConv2d<O extends (DepthwiseOptions) & KeepOption = DepthwiseOptions>(x: TensorArg, depthwiseFilters: TensorArg, pointwiseFilters: TensorArg, options?: O): Promise<Result<O>>;
  /** Max over runs of poolSize channels (poolSize must divide the channels). */
  depthMaxPool<O extends ({ poolSize: number; strides?: number } & BackendOption) & KeepOption = { poolSize: number; strides?: number } & BackendOption>(x: TensorArg, options: O): Promise<Result<O>>;
  /** Batch normalization at inference over the last axis. */
  batchNorm<O extends (BatchNormOptions) & KeepOption = BatchNormOptions>(x: TensorArg, options: O): Promise<Result<O>>;
  /** tf.nn.local_response_normalization over the last axis. */
  localResponseNormalization<O extends (LrnOptions) & KeepOption = LrnOptions>(x: TensorArg, options?: O): Promise<Result<O>>;
  /** tf.nn.max_pool2d; strides default to poolSize, padding to "valid". */
  maxPool<O extends (PoolOptions) & KeepOption = PoolOptions>(x: TensorArg, options: O): Promise<Result<O>>;
  /** tf.nn.avg_pool2d (padding cells excluded from each mean). */
  avgPool<O extends (PoolOptions) & KeepOption = PoolOptions>(x: TensorArg, options: O): Promise<Result<O>>;
  /** [n, h, w, c] -> [n, c]. */
  globalAvgPool<O extends (BackendOption) & KeepOption = BackendOption>(x: TensorArg, options?: O): Promise<Result<O>>;
  /** [n, h, w, c] -> [n, c]. */
  globalMaxPool<O extends (BackendOption) & KeepOption = BackendOption>(x: TensorArg, options?: O): Promise<Result<O>>;
  relu<O extends (BackendOption) & KeepOption = BackendOption>(x: TensorArg, options?: O): Promise<Result<O>>;
  sigmoid<O extends (BackendOption) & KeepOption = BackendOption>(x: TensorArg, options?: O): Promise<Result<O>>;
  tanh<O extends (BackendOption) & KeepOption = BackendOption>(x: TensorArg, options?: O): Promise<Result<O>>;
  /** Softmax over the last axis. */
  softmax<O extends (BackendOption) & KeepOption = BackendOption>(x: TensorArg, options?: O): Promise<Result<O>>;
  /** activation(x W + b): x [n, in], weights [in, units]. */
  dense<O extends (DenseOptions) & KeepOption = DenseOptions>(x: TensorArg, weights: TensorArg, options?: O): Promise<Result<O>>;
  /**
   * Copies a tensor into the core once: ops take the answer wherever they take a Tensor,
   * without copying its data in again (as TensorFlow.js's tensors). Free it with dispose.
   */
  keep(x: TensorArg): KeptTensor;
  /**
   * A kept tensor's values (a copy; it stays kept). One that lives only on the WebGPU device is
   * read back first (and its values cached in the core); rejects if that device was lost.
   */
  read(t: KeptTensor): Promise<Tensor & { data: Float32Array }>;
  /** Frees a kept tensor, in the core and on the device (an op's `keep: true` result too); false if it was not kept. */
  dispose(t: KeptTensor | number): boolean;
  /** How many tensors this thread's core keeps, and their bytes. */
  kept(): { count: number; bytes: number };
  /** Models: validated specs with summaries, share links, Keras export, inference. */
  Model: {
    /** Validates a spec (object or JSON text) and infers every shape; throws naming the layer and field. */
    fromSpec(spec: ModelSpec | string): Model;
    /** The model a share link carries (a URL, "#model=..." or "model=..."). */
    fromUrl(hashOrUrl: string): Model;
    /** The architecture of a Keras model.to_json() (text or object). */
    fromKerasJson(json: string | object): Model;
    /** The model Keras Python code builds (Sequential, Functional API, model.add), read without Python. */
    fromKerasCode(code: string): Model;
  };
  /** Data sets from IDX bytes (gzip or not), for fit and evaluate. */
  data: {
    fromIdx(images: Uint8Array, labels: Uint8Array, options?: { classes?: number; mean?: number; std?: number; imagesName?: string; labelsName?: string }): DataSource;
    /** Fashion-MNIST or MNIST from the site (lazily, with progress); the last 5,000 training images held out. */
    load(name: 'fashion_mnist' | 'mnist', options?: { onProgress?: (fraction: number) => void; validation?: number }): Promise<{ train: DataSource; validation: DataSource | null; test: DataSource; classNames: string[] }>;
    /** The user's own images, one list of files per class: decoded, centre-cropped, resized (grey for 1 channel); bad files are skipped and listed. */
    fromImages(classes: { name: string; files: (File | Blob)[] }[], options: FromImagesOptions): Promise<UserDataSource>;
    /** Augmented samples of a data set for display: NHWC floats in [0, 1]. */
    preview(dataset: DataSource, options?: { augment?: AugmentOptions; seed?: number; count?: number; start?: number }): Promise<PreviewResult>;
  };
  /** Models with pretrained weights (www/js/pretrained.js; the files come from scripts/fetch-pretrained.sh). */
  pretrained: {
    /** The pretrained models the site ships ("mobilenet_v2"). */
    names(): string[];
    /** The model with its weights loaded and its class names attached; `onProgress(fraction)` follows the weights' download. */
    load(name: string, options?: { onProgress?: (fraction: number) => void }): Promise<Model>;
  };
  /** The training run in the worker: pause, resume, stop (false when none is running). */
  training: { pause(): boolean; resume(): boolean; stop(): boolean; active(): boolean };
  /** The chapter's architectures. */
  zoo: {
    names(): string[];
    /** The spec of a zoo model as a plain object. */
    spec(name: string): ModelSpec;
  };
  /** What the layer-graph editor needs: a spec's blocks expanded, the layer types the core knows. */
  editor: {
    /** The spec's layers after block expansion (configs substituted); throws the core's message. */
    expand(spec: ModelSpec | string): ExpandedSpec;
    /** Every layer type (canonical Keras class names), in palette order. */
    layerTypes(): string[];
  };
  /** Test hook: CPU convolutions run by the page's own core instance. */
  __kernelCalls(): number;
  /** Test hook: `[uploads, readBacks]`, tensors copied to a WebGPU device and back so far. */
  __transfers(): [number, number];
  /** Test hook: destroys the WebGPU device underneath convlab, as a lost GPU would. */
  __destroyWebGpuDevice(): Promise<boolean>;
}

/** A data set: the IDX bytes (sent to the training worker) and the core's view of them. */
export interface DataSource { images: Uint8Array; labels: Uint8Array; options?: object; length: number; imageShape: number[]; dataset: unknown; }

/** The model's input size for `data.fromImages`; `mean` and `std` default to the pixels' own. */
export interface FromImagesOptions { height: number; width: number; channels: 1 | 3; mean?: number; std?: number; }

/** A data set of the user's images: class names, images kept per class, and the files skipped with why. */
export interface UserDataSource extends DataSource { classNames: string[]; counts: number[]; skipped: { file: string; reason: string }[]; }

/** Result of `model.fit`. */
export interface FitResult { history: { epoch: number; elapsed: number; validation: { accuracy: number; loss: number; confusion: number[][] } | null }[]; stopped: boolean; }

/** What `fit`'s `onEpoch` receives: the validation evaluation and that epoch's weights (safetensors bytes). */
export interface EpochReport { epoch: number; elapsed: number; validation: { accuracy: number; loss: number; confusion: number[][] } | null; weights: Uint8Array; checkpoint: Uint8Array | null; }

/** What `classify` and `preprocess.prepare` accept. */
export type ImageSource = ImageData | ImageBitmap | HTMLImageElement | HTMLCanvasElement | HTMLVideoElement | OffscreenCanvas;

/** A preprocessing recipe (www/js/preprocess.js). */
export type Recipe = 'imagenet' | 'mnist' | 'fashion' | 'plain';

/** One class of a classification, with its probability. */
export interface Prediction { label: string; index: number; probability: number; }

/**
 * `topK` (default 5), the backend, class names (one per output; default the pretrained model's,
 * else the indices), the recipe (default from the model) and the grey/plain recipes' `mean`/`std`.
 */
export interface ClassifyOptions { topK?: number; backend?: BackendName | 'auto'; classNames?: string[]; recipe?: Recipe; mean?: number; std?: number; }

declare module '../../pkg/convlab.js' {
  interface Model {
    /** Trains in the training worker (see www/js/train-worker.js); loads the trained weights. */
    fit(train: DataSource, options?: Record<string, unknown>): Promise<FitResult>;
    /**
     * Classifies an image (preprocessed for the model: www/js/preprocess.js), most probable first;
     * softmax is applied when the output is logits. Runs on this thread's core.
     */
    classify(image: ImageSource, options?: ClassifyOptions): Promise<Prediction[]>;
    /** Set by `convlab.pretrained.load`: the class names, in output order. */
    classNames?: string[];
    /** Set by `convlab.pretrained.load`: which pretrained model this is, its recipe and licence. */
    pretrained?: { name: string; title: string; recipe: Recipe; licence: string; embedLayer: string };
  }
}

declare global {
  // eslint-disable-next-line no-var
  var convlab: Convlab;
}
