// @ts-check
/** The "Look inside" view's markup (static; inside.js fills it). */

export const HTML = `
<div class="inside">
  <h2>Look inside a network</h2>
  <p class="inside-intro">
    Run one image through a model and see what every layer makes of it: each channel of a
    layer's output as a small grey picture (its own minimum black, maximum white: the idea of
    the chapter's Figure 14-5, for any model), the spread of its values, the filters of each
    convolution, and how long each layer took on the backend that ran it. Everything runs in a
    worker, so the page stays responsive.
  </p>
  <div class="inside-pickers" role="group" aria-label="Model and image">
    <label>Model <select id="inside-model"></select></label>
    <label>Image <select id="inside-image">
      <option value="photo:0">china.jpg (sample photo)</option>
      <option value="photo:1">flower.jpg (sample photo)</option>
      <option value="fashion">a Fashion-MNIST test image</option>
      <option value="upload" disabled>your image (choose a file)</option>
    </select></label>
    <label id="inside-fashion-wrap" hidden>Test image number
      <input id="inside-fashion-index" type="number" min="0" max="9999" step="1" value="0"></label>
    <label class="file-button">Choose an image file<input id="inside-file" type="file" accept="image/*"></label>
    <label>Run on <select id="inside-backend">
      <option value="auto">automatic (WebGPU on a hardware adapter)</option>
      <option value="webgpu">WebGPU</option>
      <option value="cpu">CPU (wasm SIMD128)</option>
    </select></label>
  </div>
  <p id="inside-status" class="run-status" role="status" aria-live="polite">starting...</p>
  <p id="inside-error" class="note error" role="alert" hidden></p>
  <div class="inside-body">
    <section class="inside-layers" aria-labelledby="inside-layers-h">
      <h3 id="inside-layers-h">Layers</h3>
      <figure class="inside-input">
        <canvas id="inside-input" role="img" aria-label="the model's input"></canvas>
        <figcaption id="inside-input-cap"></figcaption>
      </figure>
      <div class="inside-table-wrap" tabindex="0" role="region" aria-label="Layer list (scrolls)">
      <table id="inside-layer-table" class="inside-table">
        <caption class="visually-hidden">Every layer: its output shape and the time it took</caption>
        <thead><tr><th scope="col">Layer</th><th scope="col">Type</th><th scope="col">Output</th><th scope="col">Time (ms)</th><th scope="col">Backend</th></tr></thead>
        <tbody></tbody>
      </table>
      </div>
      <p id="inside-timing" class="note"></p>
    </section>
    <section class="inside-detail" aria-labelledby="inside-layer-h">
      <h3 id="inside-layer-h">Layer</h3>
      <p id="inside-stats" class="note"></p>
      <figure class="inside-hist">
        <canvas id="inside-histogram" role="img" aria-label="histogram of the layer's activations"></canvas>
        <figcaption>Activations of this layer (square-root height scale)</figcaption>
      </figure>
      <h4>Feature maps</h4>
      <div class="pager" role="group" aria-label="Feature map pages">
        <button type="button" id="inside-maps-prev">Previous channels</button>
        <span id="inside-maps-page" aria-live="polite"></span>
        <button type="button" id="inside-maps-next">Next channels</button>
      </div>
      <div id="inside-maps" class="tiles"></div>
      <div id="inside-filters-part">
        <h4>Filters</h4>
        <p id="inside-filters-note" class="note"></p>
        <div class="pager" role="group" aria-label="Filter pages">
          <button type="button" id="inside-filters-prev">Previous filters</button>
          <span id="inside-filters-page" aria-live="polite"></span>
          <button type="button" id="inside-filters-next">Next filters</button>
        </div>
        <div id="inside-filters" class="tiles filters"></div>
      </div>
    </section>
  </div>
  <section class="inside-compare" aria-labelledby="inside-compare-h">
    <h3 id="inside-compare-h">Check backends</h3>
    <p class="note">Runs the image on WebGPU and on the CPU path and shows, per layer, the largest
      absolute difference and that divided by the layer's largest |value|. Float32 rounding
      stays well under the tolerance of 1e-3 of the layer's scale; a row over it is marked.</p>
    <button type="button" id="inside-compare-run">Check backends</button>
    <p id="inside-compare-status" class="note" role="status" aria-live="polite"></p>
    <table id="inside-compare-table" class="inside-table" hidden>
      <caption class="visually-hidden">Differences between WebGPU and the CPU path per layer</caption>
      <thead><tr><th scope="col">Layer</th><th scope="col">Largest |difference|</th><th scope="col">Relative to the layer's scale</th><th scope="col">WebGPU ms</th><th scope="col">CPU ms</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
  <section class="inside-gradcam" aria-labelledby="inside-gradcam-h">
    <h3 id="inside-gradcam-h">Saliency (Grad-CAM)</h3>
    <p class="note">Which pixels drove a prediction: the gradient of the class's score (the logit
      before softmax) with respect to a layer's feature maps, averaged over each map, weighs the
      maps; their positive sum, scaled up to the image, is drawn over it (red: most). Computed on
      the CPU path.</p>
    <div class="inside-pickers">
      <label>Class <select id="inside-cam-class"><option value="">the predicted class</option></select></label>
      <label>Layer <select id="inside-cam-layer"><option value="">the last spatial layer</option></select></label>
      <button type="button" id="inside-cam-run">Explain</button>
    </div>
    <p id="inside-cam-status" class="note" role="status" aria-live="polite"></p>
    <figure class="inside-cam" hidden>
      <canvas id="inside-cam" role="img" aria-label="Grad-CAM heat map over the input"></canvas>
      <figcaption id="inside-cam-cap"></figcaption>
    </figure>
  </section>
</div>`;
