/*
 * What the lab's hand-written SVG charts share: elements and text in the SVG namespace.
 */
(function () {
  "use strict";

  const SVG_NS = "http://www.w3.org/2000/svg";

  function el(name, attributes, parent) {
    const node = document.createElementNS(SVG_NS, name);
    for (const [k, v] of Object.entries(attributes)) node.setAttribute(k, v);
    if (parent) parent.appendChild(node);
    return node;
  }

  function text(parent, x, y, content, cls, anchor) {
    const node = el("text", { x, y, class: cls, "text-anchor": anchor || "middle" }, parent);
    node.textContent = content;
    return node;
  }

  window.LabSvg = { el, text };
})();
