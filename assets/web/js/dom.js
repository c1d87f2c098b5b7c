// Building DOM safely. Every page module builds its elements through these helpers:
// elements are created with createElement, text is set with textContent or added as Text
// nodes, and nothing here (or anywhere in our pages) parses a string as HTML. Text that came
// from the server can therefore never become markup.

/**
 * el creates an element.
 *   tag: the element name.
 *   opts.cls: class names; opts.text: text content; opts.attrs: attributes (values are
 *   strings, set with setAttribute); opts.props: properties (value, checked, disabled…);
 *   opts.on: event listeners by event name; opts.title: the title attribute.
 *   children: nodes, strings (added as text) or null/undefined (skipped).
 */
export function el(tag, opts = {}, ...children) {
  const node = document.createElement(tag);
  if (opts.cls) node.className = opts.cls;
  if (opts.text !== undefined && opts.text !== null) node.textContent = String(opts.text);
  if (opts.title) node.title = String(opts.title);
  if (opts.attrs) {
    for (const [k, v] of Object.entries(opts.attrs)) {
      if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? '' : String(v));
    }
  }
  if (opts.props) Object.assign(node, opts.props);
  if (opts.on) {
    for (const [type, fn] of Object.entries(opts.on)) node.addEventListener(type, fn);
  }
  append(node, children);
  return node;
}

/** append adds children (nodes or strings as text) to parent. */
export function append(parent, children) {
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    parent.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return parent;
}

/** $ returns the element with the given id, or throws: a missing element is a bug. */
export function $(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`missing element #${id}`);
  return node;
}

/** setText replaces a node's content with text. */
export function setText(node, text) {
  node.textContent = text === undefined || text === null ? '' : String(text);
}

/** showError fills an inline error element with an error's code and message, or hides it. */
export function showError(node, err) {
  if (!err) {
    node.hidden = true;
    node.replaceChildren();
    return;
  }
  const parts = [];
  if (err.code) parts.push(el('span', { cls: 'code', text: err.code }));
  parts.push(err.message || String(err));
  node.replaceChildren(...parts.map((p) => (p instanceof Node ? p : document.createTextNode(p))));
  node.hidden = false;
}

/** statusCell renders an HTTP status with its class (s2 … s5). */
export function statusSpan(status) {
  const n = Number(status) || 0;
  return el('span', { cls: `status s${Math.floor(n / 100)}`, text: n ? String(n) : 'ERR' });
}

/** keepLast removes rows past max from the end of a container. */
export function keepFirst(container, max) {
  while (container.children.length > max) container.lastElementChild.remove();
}

/** kvRows fills a tbody with one row per [key, value]. */
export function kvRows(tbody, entries) {
  tbody.replaceChildren(
    ...entries.map(([k, v]) => el('tr', {}, el('td', { text: k }), el('td', { text: v }))),
  );
}
