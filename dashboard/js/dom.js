// SPDX-License-Identifier: BSD-2-Clause
// DOM helpers.  Everything the dashboard shows is built with h(): strings
// become text nodes and attributes are set one by one, so a client id,
// username or topic holding "<script>" is shown as those characters and
// never parsed as markup.  No module parses an HTML string.

// h('td', {class: 'num'}, 'text', child, [more, children]).
// attrs: on<event> (a function) becomes a listener; true/false toggles a
// boolean attribute; null/undefined is skipped; everything else is set
// with setAttribute.
export function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2), v);
    } else if (k === 'value') {
      el.value = v;
    } else if (v === true) {
      el.setAttribute(k, '');
    } else {
      el.setAttribute(k, String(v));
    }
  }
  append(el, kids);
  return el;
}

function append(el, kids) {
  for (const k of kids) {
    if (k === null || k === undefined || k === false) continue;
    if (Array.isArray(k)) append(el, k);
    else if (k instanceof Node) el.appendChild(k);
    else el.appendChild(document.createTextNode(String(k)));
  }
}

// Replaces el's children with kids.
export function fill(el, ...kids) {
  el.replaceChildren();
  append(el, kids);
  return el;
}

export function fmtNum(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return '-';
  return Number(n).toLocaleString('en-US', { maximumFractionDigits: 1 });
}

export function fmtBytes(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = Number(n);
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

// A small key/value table: rows is [[label, value], ...].
export function kvTable(rows, attrs) {
  return h('table', Object.assign({ class: 'kv' }, attrs || {}),
    h('tbody', null, rows.map(([k, v]) =>
      h('tr', null, h('th', null, k), h('td', null, v)))));
}

// A modal confirmation; resolves true when the user confirms.
export function confirmDialog(question, yesLabel) {
  return new Promise((resolve) => {
    const dlg = h('dialog', { class: 'confirm', id: 'confirm' });
    const done = (v) => { dlg.close(); dlg.remove(); resolve(v); };
    fill(dlg,
      h('p', null, question),
      h('div', { class: 'buttons' },
        h('button', { type: 'button', id: 'confirm-yes', class: 'danger',
          onclick: () => done(true) }, yesLabel || 'Yes'),
        h('button', { type: 'button', id: 'confirm-no',
          onclick: () => done(false) }, 'Cancel')));
    dlg.addEventListener('cancel', () => done(false));
    document.body.appendChild(dlg);
    dlg.showModal();
  });
}
