// The tabulation page's photo tools (saylau/dashboard/pages/tabulation.py): zoom and turn
// the protocol photo with a CSS transform, in the browser only. A new photo is a new
// image, shown upright at its own size again.
(function () {
  "use strict";
  const STEP = 1.25, MIN = 0.25, MAX = 8, TOOL = "tabulation-tool-";
  const ACTIONS = {
    "zoom-in": (v) => ({...v, zoom: Math.min(MAX, v.zoom * STEP)}),
    "zoom-out": (v) => ({...v, zoom: Math.max(MIN, v.zoom / STEP)}),
    "rotate-left": (v) => ({...v, turn: (v.turn + 270) % 360}),
    "rotate-right": (v) => ({...v, turn: (v.turn + 90) % 360}),
    "reset": () => ({zoom: 1, turn: 0}),
  };
  function viewOf(image) {
    if (image.dataset.viewSrc !== image.getAttribute("src")) return {zoom: 1, turn: 0};
    return {zoom: Number(image.dataset.zoom || 1), turn: Number(image.dataset.turn || 0)};
  }
  document.addEventListener("click", (event) => {
    const button = event.target.closest(".tabulation-tool");
    const image = document.getElementById("tabulation-image");
    const action = button ? button.id.replace(TOOL, "") : "";
    if (!image || !ACTIONS[action]) return;
    const view = ACTIONS[action](viewOf(image));
    image.dataset.zoom = String(view.zoom);
    image.dataset.turn = String(view.turn);
    image.dataset.viewSrc = image.getAttribute("src");
    image.style.transform = `scale(${view.zoom}) rotate(${view.turn}deg)`;
  });
})();
