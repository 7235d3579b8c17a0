// SPDX-License-Identifier: BSD-2-Clause
// A paged list of API objects: page size to choose, previous/next, a
// search by exact key, refreshed every few seconds.  Only the page shown is
// ever fetched (curr_page/page_size), so a list of a million clients costs
// what a list of twenty does.

import { h, fill, fmtNum } from './dom.js';

export const PAGE_SIZES = [10, 20, 50, 100, 200];
const REFRESH_MS = 5000;

// opts: id (prefix of the element ids), columns: [[title, fn(o)], ...],
//   page(curr, size) -> {objects, total_num, ...}, search(key) -> [objects]
//   (or null: no search box), searchLabel, empty (text for no rows),
//   onError(err).
export function pagedTable(opts) {
  const st = { page: 1, size: 20, query: '', timer: null, busy: false, gen: 0, shown: null };
  const body = h('tbody');
  const info = h('span', { class: 'info', id: `${opts.id}-info` });
  const sizeSel = h('select', { id: `${opts.id}-size`, title: 'page size',
    onchange: () => { st.size = Number(sizeSel.value); st.page = 1; load(); } },
  PAGE_SIZES.map((n) => h('option', { value: String(n), selected: n === st.size }, `${n} / page`)));
  const prev = h('button', { type: 'button', id: `${opts.id}-prev`,
    onclick: () => { st.page = Math.max(1, st.page - 1); load(); } }, '\u2039 Prev');
  const next = h('button', { type: 'button', id: `${opts.id}-next`,
    onclick: () => { st.page += 1; load(); } }, 'Next \u203a');
  const pager = h('span', { class: 'pager' }, prev, next, sizeSel);

  let searchBox = null;
  if (opts.search) {
    const input = h('input', { id: `${opts.id}-search`, type: 'search',
      placeholder: opts.searchLabel || 'exact key', 'aria-label': opts.searchLabel });
    searchBox = h('form', { class: 'search', id: `${opts.id}-search-form`,
      onsubmit: (ev) => { ev.preventDefault(); st.query = input.value; st.page = 1; load(); } },
    input,
    h('button', { type: 'submit', id: `${opts.id}-search-go` }, 'Search'),
    h('button', { type: 'button', id: `${opts.id}-search-clear`,
      onclick: () => { input.value = ''; st.query = ''; load(); } }, 'Clear'));
  }

  const table = h('table', { class: 'list', id: `${opts.id}-table` },
    h('thead', null, h('tr', null, opts.columns.map(([t]) => h('th', null, t)))), body);
  const el = h('div', { class: 'paged' },
    h('div', { class: 'toolbar' }, searchBox, h('span', { class: 'spacer' }), info, pager),
    table);

  function rows(objects) {
    if (!objects.length) {
      return h('tr', { class: 'empty' },
        h('td', { colspan: String(opts.columns.length) }, opts.empty || 'Nothing here.'));
    }
    return objects.map((o) => h('tr', null, opts.columns.map(([, fn, cls]) =>
      h('td', cls ? { class: cls } : null, fn(o)))));
  }

  async function load() {
    const gen = ++st.gen;
    st.busy = true;
    try {
      let objects;
      if (st.query) {
        objects = await opts.search(st.query);
        if (gen !== st.gen) return;
        fill(info, objects.length ? `${objects.length} found` : `no match for \u201c${st.query}\u201d`);
        pager.hidden = true;
      } else {
        const r = await opts.page(st.page, st.size);
        if (gen !== st.gen) return;
        if (r.total_page > 0 && st.page > r.total_page) {
          st.page = r.total_page;   // the list shrank under us
          load();
          return;
        }
        objects = r.objects;
        pager.hidden = false;
        prev.disabled = st.page <= 1;
        next.disabled = st.page >= r.total_page;
        fill(info, `page ${fmtNum(r.current_page)} of ${fmtNum(Math.max(1, r.total_page))}, `
          + `${fmtNum(r.total_num)} in all`);
      }
      // Unchanged rows are left alone: no flicker, and a button the user
      // is about to press stays the same element.
      const key = JSON.stringify(objects);
      if (key !== st.shown) {
        fill(body, rows(objects));
        st.shown = key;
      }
      el.dataset.loaded = String(Date.now());
    } catch (e) {
      if (gen === st.gen) {
        fill(body, h('tr', { class: 'empty' },
          h('td', { colspan: String(opts.columns.length) }, e.message)));
        st.shown = null;
        opts.onError(e);
      }
    } finally {
      if (gen === st.gen) st.busy = false;
    }
  }

  function start() {
    load();
    st.timer = setInterval(() => { if (!st.busy) load(); }, REFRESH_MS);
  }

  function stop() {
    clearInterval(st.timer);
    st.gen++;
  }

  return { el, start, stop, reload: load };
}
