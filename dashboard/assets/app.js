// assign dashboard: one ES module, no build step. Every page reads its
// state from the address (path and query string) and writes it back, so a
// link shares the view. All text goes into the page as text nodes (never
// as HTML), so a snack name holding markup shows as the characters it is.
// The chart library loads while the first data is fetched.
let echarts = null;
const echartsReady = import('./vendor/echarts.esm.min.js').then(m => { echarts = m; });

const app = document.getElementById('app');
const charts = {};           // id -> echarts instance (the browser tests read them)
window.__charts = charts;
window.__dash = { renders: 0, last: null };

// ---------- small helpers ----------

function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v == null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const fmt = new Intl.NumberFormat('en-US');
function num(v, digits) {
  if (v == null || Number.isNaN(v)) return '';
  if (digits != null) return Number(v).toFixed(digits);
  return fmt.format(v);
}
function signed(v, digits) { const s = num(v, digits); return v > 0 ? '+' + s : s; }

function params() { return new URLSearchParams(location.search); }
function param(k) { return params().get(k) || ''; }

// go changes the address and renders; keep names the page params to keep.
function go(path, set, replace) {
  const p = params();
  for (const [k, v] of Object.entries(set || {})) {
    if (v === '' || v == null) p.delete(k); else p.set(k, v);
  }
  const qs = p.toString();
  const url = path + (qs ? '?' + qs : '');
  if (replace) history.replaceState(null, '', url); else history.pushState(null, '', url);
  render();
}

function showError(msg) {
  const e = document.getElementById('error');
  if (!msg) { e.hidden = true; e.textContent = ''; return; }
  e.hidden = false;
  e.textContent = msg;
}

async function api(path, query, body) {
  const qs = query ? '?' + new URLSearchParams(Object.entries(query).filter(([, v]) => v !== '' && v != null)).toString() : '';
  const opt = body === undefined ? {} : { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) };
  const res = await fetch('/api/' + path + qs, opt);
  let data;
  try { data = await res.json(); } catch (e) { throw new Error(`${path}: the server answered ${res.status} without JSON`); }
  if (!res.ok) throw new Error(data.error || `${path}: status ${res.status}`);
  return data;
}

function csvCell(v) {
  const s = v == null ? '' : String(v);
  return /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
}

// download saves rows (what a panel shows) as CSV.
function download(name, columns, rows) {
  const lines = [columns.map(c => csvCell(c.key)).join(',')];
  for (const r of rows) lines.push(columns.map(c => csvCell(r[c.key])).join(','));
  const blob = new Blob([lines.join('\n') + '\n'], { type: 'text/csv' });
  const a = h('a', { href: URL.createObjectURL(blob), download: name });
  document.body.append(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}

function table(columns, rows, opts) {
  opts = opts || {};
  const head = h('tr', {}, columns.map(c => h('th', { class: c.num ? 'num' : null }, c.label || c.key)));
  const body = rows.map(r => h('tr', { class: opts.selected && opts.selected(r) ? 'sel' : null },
    columns.map(c => {
      const v = r[c.key];
      const text = c.fmt ? c.fmt(v, r) : (c.num ? num(v) : (v == null ? '' : v));
      const href = c.link ? withRun(c.link(r)) : null;
      const content = href ? h('a', { href, onclick: ev => { ev.preventDefault(); navigate(href); } }, text) : text;
      return h('td', { class: c.num ? 'num' : null }, content);
    })));
  return h('table', { 'data-rows': rows.length }, h('thead', {}, head), h('tbody', {}, body));
}

// withRun keeps the run being viewed on a link to another page (unless the
// link names a run itself), so following it stays on that run.
function withRun(href) {
  const u = new URL(href, location.href);
  if (param('run') && !u.searchParams.has('run')) u.searchParams.set('run', param('run'));
  return u.pathname + u.search;
}

function navigate(href) {
  const u = new URL(withRun(href), location.href);
  history.pushState(null, '', u.pathname + u.search);
  render();
}

const palette = ['#2f6fb0', '#d1495b', '#edae49', '#3a9d5d', '#7d5ba6', '#66a0d4', '#8c6d46'];

// panel is one chart with its table and a CSV export of the rows shown.
function panel(id, title, opts) {
  const chartEl = opts.option ? h('div', { class: 'chart', id: 'chart-' + id, 'data-chart': id, style: opts.height ? `height:${opts.height}px` : null }) : null;
  const exportBtn = h('button', { class: 'plain', 'data-export': id, onclick: () => download(opts.csv || id + '.csv', opts.columns, opts.rows) }, 'CSV');
  const el = h('section', { class: 'panel', 'data-panel': id },
    h('div', { class: 'head' }, h('h2', {}, title), opts.extra || null, exportBtn),
    opts.note ? h('p', { class: 'muted' }, opts.note) : null,
    chartEl,
    h('div', { class: 'tablewrap' }, table(opts.columns, opts.rows, opts)));
  if (chartEl) {
    pending.push(() => {
      if (!chartEl.isConnected) return;
      const option = Object.assign({ color: palette, animation: false, tooltip: { trigger: 'axis', confine: true },
        grid: { left: 60, right: 20, top: 30, bottom: 60 }, legend: { top: 0 } }, opts.option);
      let c = charts[id];
      if (c && !c.isDisposed() && !c.getDom().isConnected) {
        // The same chart of the page this render replaced (a filter click):
        // its element and instance take the new option, which is much
        // cheaper than a new canvas and renderer.
        const el = c.getDom();
        el.style.height = chartEl.style.height;
        chartEl.replaceWith(el);
        c.off('click');
        c.setOption(option, { notMerge: true });
        if (c.getHeight() !== el.clientHeight || c.getWidth() !== el.clientWidth) c.resize();
      } else {
        if (c && !c.isDisposed()) c.dispose();
        c = echarts.init(chartEl, null, { renderer: 'canvas' });
        c.setOption(option);
      }
      if (opts.onClick) c.on('click', opts.onClick);
      charts[id] = c;
    });
  }
  return el;
}

// Charts are drawn once their element is in the page (they need its size).
let pending = [];
function flushCharts() {
  const todo = pending;
  pending = [];
  for (const f of todo) f();
}

function kpis(items) {
  return h('div', { class: 'kpis' }, items.map(([label, value, cls]) =>
    h('div', { class: 'kpi', 'data-kpi': label }, h('div', { class: 'v ' + (cls || '') }, value), h('div', { class: 'l' }, label))));
}

function short(name, n) { n = n || 18; return name.length > n ? name.slice(0, n - 1) + '…' : name; }

function chips(list) {
  const f = document.getElementById('filters');
  f.replaceChildren(...list.filter(c => c.value).map(c =>
    h('span', { class: 'chip', 'data-filter': c.key }, `${c.label}: ${c.value}`,
      h('button', { title: 'clear', onclick: () => go(location.pathname, { [c.key]: '' }) }, '×'))));
}

// ---------- global state ----------

let state = null;
async function loadState() {
  state = await api('state');
  const sel = document.getElementById('run');
  const cur = param('run') || state.latest;
  sel.replaceChildren(...state.runs.map(r => h('option', { value: r.id, selected: r.id === cur },
    `${r.id}${r.scenario ? ' (scenario)' : ''}`)));
  sel.onchange = () => go(location.pathname, { run: sel.value === state.latest ? '' : sel.value });
  document.getElementById('footer').textContent = `snapshot ${state.snapshot} · assign ${state.version}`;
}

// ---------- pages ----------

async function overview() {
  const q = { run: param('run'), category: param('category'), date: param('date') };
  chips([{ key: 'category', label: 'category', value: q.category }, { key: 'date', label: 'ship date', value: q.date }]);
  const d = await api('overview', q);
  const k = d.kpi;
  const toggle = (key, value) => go('/', { [key]: param(key) === value ? '' : value });
  const run = d.run;
  return [
    h('h1', {}, 'Overview ', h('span', { class: 'muted' }, `${run.id} · ${run.mode} · ${run.from} to ${run.to}`)),
    run.scenario ? h('p', { class: 'muted' }, `What-if scenario of ${run.base_run}: ${(run.changes || []).join('; ')}`) : null,
    kpis([['boxes', num(k.boxes)], ['units of demand', num(k.demand)], ['units covered', num(k.covered)],
      ['units short', num(k.shortage), k.shortage > 0 ? 'bad' : 'good'], ['short boxes', num(k.short_boxes), k.short_boxes > 0 ? 'bad' : 'good'],
      ['requests honoured', num(k.requests_honoured)]]),
    h('div', { class: 'grid' },
      panel('snacks', 'Demand against usable stock: the 30 snacks most in demand', {
        rows: d.snacks, csv: 'snacks.csv',
        columns: [{ key: 'snack_id', label: 'snack', link: r => `/snack?id=${r.snack_id}` }, { key: 'name' }, { key: 'category' },
          { key: 'demand', num: true }, { key: 'usable', label: 'usable on first date', num: true }, { key: 'covered', num: true }, { key: 'shortage', num: true }],
        option: {
          xAxis: { type: 'category', data: d.snacks.map(s => short(s.name)), axisLabel: { rotate: 45, fontSize: 10 } }, yAxis: { type: 'value' },
          series: [{ name: 'demand', type: 'bar', data: d.snacks.map(s => s.demand) },
            { name: 'usable stock', type: 'bar', data: d.snacks.map(s => s.usable) },
            { name: 'shortage', type: 'bar', data: d.snacks.map(s => s.shortage) }],
          grid: { left: 60, right: 20, top: 30, bottom: 110 }, color: ['#2f6fb0', '#3a9d5d', '#d1495b'],
        },
        onClick: e => navigate(`/snack?id=${d.snacks[e.dataIndex].snack_id}`),
      }),
      panel('dates', 'Covered and short units by ship date (click a date to filter)', {
        rows: d.dates, csv: 'dates.csv', selected: r => r.ship_on === q.date,
        columns: [{ key: 'ship_on', label: 'ship date' }, { key: 'demand', num: true }, { key: 'covered', num: true }, { key: 'shortage', num: true }],
        option: {
          xAxis: { type: 'category', data: d.dates.map(r => r.ship_on.slice(5)) }, yAxis: { type: 'value' },
          series: [{ name: 'covered', type: 'bar', stack: 'u', data: d.dates.map(r => r.covered) },
            { name: 'short', type: 'bar', stack: 'u', data: d.dates.map(r => r.shortage) }],
        },
        onClick: e => toggle('date', d.dates[e.dataIndex].ship_on),
      }),
      panel('categories', 'Covered and short units by category (click a category to filter)', {
        rows: d.categories, csv: 'categories.csv', selected: r => r.category === q.category,
        columns: [{ key: 'category' }, { key: 'demand', num: true }, { key: 'covered', num: true }, { key: 'shortage', num: true }],
        option: {
          yAxis: { type: 'category', data: d.categories.map(r => r.category), inverse: true }, xAxis: { type: 'value' },
          grid: { left: 110, right: 20, top: 30, bottom: 30 },
          series: [{ name: 'covered', type: 'bar', stack: 'u', data: d.categories.map(r => r.covered) },
            { name: 'short', type: 'bar', stack: 'u', data: d.categories.map(r => r.shortage) }],
        },
        onClick: e => toggle('category', d.categories[e.dataIndex].category),
      }),
      panel('boxfill', 'Box fill and requests honoured by ship date', {
        rows: d.dates, csv: 'box-fill.csv', selected: r => r.ship_on === q.date,
        columns: [{ key: 'ship_on', label: 'ship date' }, { key: 'boxes', num: true }, { key: 'short_boxes', label: 'short boxes', num: true },
          { key: 'lines', label: 'box lines', num: true }, { key: 'requested', label: 'requests honoured', num: true }],
        option: {
          xAxis: { type: 'category', data: d.dates.map(r => r.ship_on.slice(5)) },
          yAxis: [{ type: 'value', name: 'boxes' }, { type: 'value', name: 'requests' }],
          series: [{ name: 'full boxes', type: 'bar', stack: 'b', data: d.dates.map(r => r.boxes - r.short_boxes) },
            { name: 'short boxes', type: 'bar', stack: 'b', data: d.dates.map(r => r.short_boxes) },
            { name: 'requests honoured', type: 'line', yAxisIndex: 1, data: d.dates.map(r => r.requested) }],
        },
        onClick: e => toggle('date', d.dates[e.dataIndex].ship_on),
      })),
  ];
}

async function stock() {
  const q = { run: param('run'), category: param('category') };
  chips([{ key: 'category', label: 'category', value: q.category }]);
  const d = await api('stock', q);
  const t = d.totals;
  const toggle = v => go('/stock', { category: param('category') === v ? '' : v });
  const top = d.snacks.slice(0, 30);
  return [
    h('h1', {}, 'Stock and expiry ', h('span', { class: 'muted' }, `${d.run.id} · ${d.run.from} to ${d.run.to} · min shelf ${d.min_shelf_days} days`)),
    kpis([['units in lots', num(t.units)], ['units at risk of expiring unused', num(t.at_risk), t.at_risk > 0 ? 'bad' : 'good'],
      ['lots at risk', num(t.lots_at_risk)], ['units unusable from the start', num(t.unusable_at_start)]]),
    h('div', { class: 'grid' },
      panel('expiry', 'Units in lots by best-before week', {
        rows: d.expiry, csv: 'expiry.csv',
        columns: [{ key: 'week', label: 'week of' }, { key: 'units', num: true }, { key: 'at_risk', label: 'at risk', num: true }],
        option: {
          xAxis: { type: 'category', data: d.expiry.map(r => r.week) }, yAxis: { type: 'value' },
          series: [{ name: 'units', type: 'bar', data: d.expiry.map(r => r.units - r.at_risk), stack: 'u' },
            { name: 'at risk of expiring unused', type: 'bar', stack: 'u', data: d.expiry.map(r => r.at_risk) }],
        },
      }),
      panel('waste-categories', 'Units at risk by category (click a category to filter)', {
        rows: d.categories, csv: 'waste-categories.csv', selected: r => r.category === q.category,
        columns: [{ key: 'category' }, { key: 'usable_d0', label: 'usable on first date', num: true }, { key: 'at_risk', label: 'at risk', num: true }],
        option: {
          yAxis: { type: 'category', data: d.categories.map(r => r.category), inverse: true }, xAxis: { type: 'value' },
          grid: { left: 110, right: 20, top: 30, bottom: 30 },
          series: [{ name: 'at risk', type: 'bar', data: d.categories.map(r => r.at_risk) }],
        },
        onClick: e => toggle(d.categories[e.dataIndex].category),
      }),
      panel('supply', 'Snacks most at risk, with days of supply', {
        rows: top, csv: 'supply.csv',
        columns: [{ key: 'snack_id', label: 'snack', link: r => `/snack?id=${r.snack_id}` }, { key: 'name' }, { key: 'category' },
          { key: 'usable_d0', label: 'usable', num: true }, { key: 'demand', num: true }, { key: 'at_risk', label: 'at risk', num: true },
          { key: 'days_of_supply', label: 'days of supply', num: true, fmt: v => v == null ? 'no demand' : num(v, 1) }],
        option: {
          xAxis: { type: 'category', data: top.map(s => short(s.name)), axisLabel: { rotate: 45, fontSize: 10 } },
          yAxis: [{ type: 'value', name: 'units' }, { type: 'value', name: 'days' }],
          grid: { left: 60, right: 50, top: 30, bottom: 110 },
          series: [{ name: 'at risk', type: 'bar', data: top.map(s => s.at_risk) },
            { name: 'days of supply', type: 'line', yAxisIndex: 1, data: top.map(s => s.days_of_supply == null ? null : Number(s.days_of_supply.toFixed(1))) }],
        },
      }),
      panel('lots', 'Lots at risk of expiring unused', {
        rows: d.lots, csv: 'lots-at-risk.csv',
        columns: [{ key: 'lot_id', label: 'lot' }, { key: 'snack_id', label: 'snack', link: r => `/snack?id=${r.snack_id}` }, { key: 'name' },
          { key: 'best_before', label: 'best before' }, { key: 'last_usable', label: 'last usable ship date' },
          { key: 'quantity', num: true }, { key: 'used', num: true }, { key: 'at_risk', label: 'at risk', num: true }],
      })),
  ];
}

async function snack() {
  const id = param('id');
  if (!id) {
    return [h('h1', {}, 'Snack'), h('p', {}, 'Pick a snack on the Overview or Stock page, or give its id: '),
      searchBox('snack id', v => go('/snack', { id: v }))];
  }
  chips([{ key: 'date', label: 'ship date', value: param('date') }]);
  const d = await api('snack', { id, run: param('run'), date: param('date') });
  const s = d.snack;
  return [
    h('h1', {}, `Snack ${s.snack_id}: `, s.name, h('span', { class: 'muted' }, ` · ${s.category} · ${s.active ? 'active' : 'inactive'} · launched ${s.launched_on}`)),
    h('p', { class: 'muted' }, 'Tags: ', (s.tags || []).join(', ') || 'none'),
    h('div', { class: 'grid' },
      panel('snack-demand', 'Demand over the horizon, and stock usable each day (before any consumption)', {
        rows: d.dates, csv: `snack-${s.snack_id}-dates.csv`, selected: r => r.ship_on === d.date,
        columns: [{ key: 'ship_on', label: 'ship date' }, { key: 'demand', num: true }, { key: 'covered', num: true }, { key: 'shortage', num: true }, { key: 'usable', label: 'usable before consumption', num: true }],
        option: {
          xAxis: { type: 'category', data: d.dates.map(r => r.ship_on.slice(5)) }, yAxis: [{ type: 'value', name: 'units' }, { type: 'value', name: 'stock' }],
          grid: { left: 60, right: 60, top: 40, bottom: 40 },
          series: [{ name: 'covered', type: 'bar', stack: 'u', data: d.dates.map(r => r.covered) },
            { name: 'short', type: 'bar', stack: 'u', data: d.dates.map(r => r.shortage) },
            { name: 'usable stock', type: 'line', yAxisIndex: 1, data: d.dates.map(r => r.usable) }],
        },
        onClick: e => go('/snack', { date: d.dates[e.dataIndex].ship_on }),
      }),
      panel('snack-eligibility', `Users shipping on ${d.date}: who gets it, and why not the others`, {
        rows: d.eligibility, csv: `snack-${s.snack_id}-eligibility.csv`,
        columns: [{ key: 'rule', label: 'first rule that holds' }, { key: 'users', num: true }],
        option: {
          yAxis: { type: 'category', data: d.eligibility.map(r => r.rule), inverse: true }, xAxis: { type: 'value' },
          grid: { left: 210, right: 20, top: 20, bottom: 30 }, legend: { show: false },
          series: [{ name: 'users', type: 'bar', data: d.eligibility.map(r => r.users) }],
        },
      }),
      panel('snack-ratings', 'Rating distribution (latest rating of each user)', {
        rows: d.ratings, csv: `snack-${s.snack_id}-ratings.csv`,
        columns: [{ key: 'rating', num: true }, { key: 'users', num: true }],
        option: {
          xAxis: { type: 'category', data: d.ratings.map(r => String(r.rating)) }, yAxis: { type: 'value' }, legend: { show: false },
          series: [{ name: 'users', type: 'bar', data: d.ratings.map(r => r.users) }],
        },
      }),
      panel('snack-users', `Users with it in their box on ${d.date}: ${num(d.users_total)}${d.users_total > d.users.length ? ' (the first ' + d.users.length + ')' : ''}`, {
        rows: d.users.map(u => ({ user_id: u })), csv: `snack-${s.snack_id}-users.csv`,
        columns: [{ key: 'user_id', label: 'user', link: r => `/user?id=${r.user_id}&date=${d.date}` }],
      })),
  ];
}

function searchBox(placeholder, onsubmit, value) {
  const input = h('input', { type: 'text', placeholder, value: value || '', 'data-search': placeholder });
  return h('form', { class: 'row', onsubmit: ev => { ev.preventDefault(); onsubmit(input.value.trim()); } }, input, h('button', { type: 'submit' }, 'Show'));
}

async function user() {
  const id = param('id');
  const found = h('div', {});
  const search = h('input', { type: 'text', placeholder: 'user id (digits)', 'data-search': 'user', value: id });
  search.addEventListener('input', async () => {
    const v = search.value.trim();
    if (!/^\d+$/.test(v)) { found.replaceChildren(); return; }
    try {
      const r = await api('users', { q: v });
      found.replaceChildren(table([{ key: 'user_id', label: 'user', link: u => `/user?id=${u.user_id}` }, { key: 'status' },
        { key: 'box_size', label: 'box size', num: true }, { key: 'cadence_days', label: 'cadence', num: true }, { key: 'next_ship_on', label: 'next ship' }], r.users));
    } catch (e) { showError(e.message); }
  });
  const out = [h('h1', {}, 'User'), h('form', { class: 'row', onsubmit: ev => { ev.preventDefault(); go('/user', { id: search.value.trim(), date: '' }); } },
    search, h('button', { type: 'submit' }, 'Show')), found];
  if (!id) return out;
  const d = await api('user', { id, run: param('run'), date: param('date') });
  const u = d.user;
  out.push(h('p', {}, `User ${u.user_id}: ${u.status}, box of ${u.box_size}, every ${u.cadence_days} days from ${u.next_ship_on}; NG tags: ${(u.ng_tags || []).join(', ') || 'none'}`));
  const dates = [...new Set(d.lines.map(l => l.ship_on))];
  out.push(h('div', { class: 'row' }, 'Boxes in this run on: ', dates.length ? dates.map(x => h('a', { href: '#', 'data-date': x, onclick: ev => { ev.preventDefault(); go('/user', { date: x }); }, class: x === d.date ? 'chip' : null }, x)) : 'none'));
  const ex = d.explain;
  const panels = [];
  if (ex) {
    if (!ex.ships) {
      out.push(h('p', { class: 'bad' }, `Does not ship on ${ex.date}: ${ex.not_shipping_reason}.`));
    } else {
      const terms = ex.box.map(b => b);
      panels.push(panel('user-box', `Box on ${ex.date} (${ex.box.length} of ${ex.box_size}) and its score terms`, {
        rows: ex.box, csv: `user-${u.user_id}-${ex.date}-box.csv`,
        columns: [{ key: 'position', label: 'pos', num: true }, { key: 'snack_id', label: 'snack', link: r => `/snack?id=${r.snack_id}` }, { key: 'name' }, { key: 'category' },
          { key: 'score', num: true, fmt: v => num(v, 4) }, { key: 'requested', fmt: v => v ? 'requested' : 'ranked' }],
        option: {
          xAxis: { type: 'category', data: terms.map(b => short(b.name, 14)), axisLabel: { rotate: 30, fontSize: 10 } }, yAxis: { type: 'value' },
          grid: { left: 50, right: 20, top: 40, bottom: 80 },
          series: ['popularity', 'preference', 'affinity', 'novelty'].map(k => ({ name: k, type: 'bar', stack: 't', data: terms.map(b => Number(b[k].toFixed(4))) })),
        },
      }));
      panels.push(panel('user-requests', 'Requests and what became of them', {
        rows: ex.requests, csv: `user-${u.user_id}-requests.csv`,
        columns: [{ key: 'requested_at', label: 'requested at' }, { key: 'snack_id', label: 'snack', link: r => `/snack?id=${r.snack_id}` }, { key: 'fate', label: 'what became of it' }],
      }));
      panels.push(panel('user-snacks', 'Every snack: verdict (the first rule it fails) and score', {
        rows: ex.snacks, csv: `user-${u.user_id}-${ex.date}-snacks.csv`,
        columns: [{ key: 'snack_id', label: 'snack', link: r => `/snack?id=${r.snack_id}` }, { key: 'name' }, { key: 'category' },
          { key: 'reason', label: 'verdict', fmt: (v, r) => r.eligible ? 'eligible' : v }, { key: 'popularity', num: true, fmt: v => num(v, 4) },
          { key: 'preference', num: true, fmt: v => num(v, 4) }, { key: 'affinity', num: true, fmt: v => num(v, 4) }, { key: 'novelty', num: true, fmt: v => num(v, 4) },
          { key: 'score', num: true, fmt: v => num(v, 4) }, { key: 'position', label: 'box', num: true, fmt: v => v || '' }],
      }));
    }
    if (d.explain_note) out.push(h('p', { class: 'muted' }, d.explain_note));
  }
  panels.push(panel('user-lines', 'Every box line in this run', {
    rows: d.lines, csv: `user-${u.user_id}-lines.csv`,
    columns: [{ key: 'ship_on', label: 'ship date' }, { key: 'position', label: 'pos', num: true }, { key: 'snack_id', label: 'snack', link: r => `/snack?id=${r.snack_id}` }, { key: 'name' },
      { key: 'category' }, { key: 'lot_id', label: 'lot' }, { key: 'score', num: true, fmt: v => num(v, 4) }, { key: 'requested', fmt: v => v ? 'yes' : '' }],
  }));
  out.push(h('div', { class: 'grid' }, panels));
  return out;
}

async function runs() {
  const list = state.runs;
  const a = h('select', { 'data-pick': 'a' }, list.map(r => h('option', { value: r.id }, r.id)));
  const b = h('select', { 'data-pick': 'b' }, list.map(r => h('option', { value: r.id }, r.id)));
  if (list.length > 1) { a.value = list[1].id; b.value = list[0].id; }
  return [
    h('h1', {}, 'Runs'),
    h('div', { class: 'row' }, 'Compare ', a, ' with ', b, h('button', { 'data-action': 'compare', onclick: () => go('/compare', { a: a.value, b: b.value }) }, 'Compare')),
    h('div', { class: 'grid' }, panel('runs', 'Every run, newest first', {
      rows: list, csv: 'runs.csv',
      columns: [{ key: 'id', label: 'run', link: r => `/?run=${encodeURIComponent(r.id)}` }, { key: 'mode' }, { key: 'scenario', fmt: v => v ? 'scenario' : '' },
        { key: 'snapshot' }, { key: 'from' }, { key: 'days', num: true }, { key: 'boxes', num: true }, { key: 'short_boxes', label: 'short boxes', num: true },
        { key: 'demand_units', label: 'units', num: true }, { key: 'shortage_units', label: 'short units', num: true }, { key: 'seconds', num: true, fmt: v => num(v, 2) }],
      option: {
        xAxis: { type: 'category', data: list.map(r => r.id.slice(0, 15)).reverse(), axisLabel: { rotate: 30, fontSize: 10 } }, yAxis: { type: 'value' },
        grid: { left: 70, right: 20, top: 30, bottom: 90 },
        series: [{ name: 'units short', type: 'bar', data: list.map(r => r.shortage_units).reverse() },
          { name: 'short boxes', type: 'bar', data: list.map(r => r.short_boxes).reverse() }],
      },
    })),
  ];
}

// diffView shows a rundiff.Diff: the Runs compare page and the what-if result.
function diffView(d, prefix) {
  const rows = d.summary.map(m => ({ metric: m.label, a: m.a, b: m.b, delta: m.delta, float: m.float }));
  const top = d.snacks.slice(0, 20);
  return [
    h('p', {}, `A: ${d.a.run_id} (${d.a.mode}, ${d.a.date_from} to ${d.a.date_to}) · B: ${d.b.run_id} (${d.b.mode}, ${d.b.date_from} to ${d.b.date_to})`),
    d.b.scenario ? h('p', { class: 'muted' }, `B is a scenario of ${d.b.scenario.base_run}: ${d.b.scenario.changes.join('; ')}`) : null,
    ...d.notes.map(n => h('p', { class: 'muted' }, 'note: ' + n)),
    h('div', { class: 'grid' },
      panel(prefix + 'summary', 'Summary: B against A', {
        rows, csv: prefix + 'summary.csv',
        columns: [{ key: 'metric' }, { key: 'a', label: 'A', num: true, fmt: (v, r) => num(v, r.float ? 3 : null) }, { key: 'b', label: 'B', num: true, fmt: (v, r) => num(v, r.float ? 3 : null) },
          { key: 'delta', label: 'B - A', num: true, fmt: (v, r) => signed(v, r.float ? 3 : null) }],
      }),
      panel(prefix + 'dates', 'Units short of stock and short boxes by ship date', {
        rows: d.dates, csv: prefix + 'dates.csv',
        columns: [{ key: 'ship_on', label: 'ship date' }, { key: 'shortage_a', label: 'short A', num: true }, { key: 'shortage_b', label: 'short B', num: true },
          { key: 'short_boxes_a', label: 'short boxes A', num: true }, { key: 'short_boxes_b', label: 'short boxes B', num: true }, { key: 'units_a', label: 'units A', num: true }, { key: 'units_b', label: 'units B', num: true }],
        option: {
          xAxis: { type: 'category', data: d.dates.map(r => r.ship_on.slice(5)) }, yAxis: { type: 'value' },
          series: [{ name: 'short A', type: 'bar', data: d.dates.map(r => r.shortage_a) }, { name: 'short B', type: 'bar', data: d.dates.map(r => r.shortage_b) },
            { name: 'short boxes A', type: 'line', data: d.dates.map(r => r.short_boxes_a) }, { name: 'short boxes B', type: 'line', data: d.dates.map(r => r.short_boxes_b) }],
        },
      }),
      panel(prefix + 'snacks', `Snacks that changed: ${d.snacks.length}`, {
        rows: d.snacks, csv: prefix + 'snacks.csv',
        columns: [{ key: 'snack_id', label: 'snack', link: r => `/snack?id=${r.snack_id}&run=${encodeURIComponent(d.b.run_id)}` }, { key: 'name' }, { key: 'category' },
          { key: 'units_a', label: 'units A', num: true }, { key: 'units_b', label: 'units B', num: true }, { key: 'stock_usable_a', label: 'usable A', num: true },
          { key: 'stock_usable_b', label: 'usable B', num: true }, { key: 'shortage_a', label: 'short A', num: true }, { key: 'shortage_b', label: 'short B', num: true }],
        option: top.length ? {
          xAxis: { type: 'category', data: top.map(s => short(s.name || String(s.snack_id))), axisLabel: { rotate: 45, fontSize: 10 } }, yAxis: { type: 'value' },
          grid: { left: 60, right: 20, top: 30, bottom: 110 },
          series: [{ name: 'change in units', type: 'bar', data: top.map(s => s.units_b - s.units_a) },
            { name: 'change in shortage', type: 'bar', data: top.map(s => s.shortage_b - s.shortage_a) }],
        } : null,
      }),
      panel(prefix + 'boxes', `Boxes that changed: ${num(d.boxes_changed)} of ${num(d.users_changed)} users${d.boxes_changed > d.boxes.length ? ' (the first ' + d.boxes.length + ')' : ''}`, {
        rows: d.boxes.map(b => ({ ship_on: b.ship_on, user_id: b.user_id, removed: b.removed.join(' '), added: b.added.join(' ') })), csv: prefix + 'boxes.csv',
        columns: [{ key: 'ship_on', label: 'ship date' }, { key: 'user_id', label: 'user', link: r => `/user?id=${r.user_id}&date=${r.ship_on}&run=${encodeURIComponent(d.b.run_id)}` },
          { key: 'removed', label: 'removed (A only)' }, { key: 'added', label: 'added (B only)' }],
      })),
  ];
}

async function compare() {
  const a = param('a'), b = param('b');
  if (!a || !b) return [h('h1', {}, 'Compare runs'), h('p', {}, 'Pick two runs on the Runs page.')];
  const d = await api('compare', { a, b });
  return [h('h1', {}, 'Compare runs'), ...diffView(d, 'cmp-')];
}

let lastScenario = null;
async function whatif() {
  const base = h('select', { name: 'base' }, state.runs.filter(r => !r.scenario).map(r => h('option', { value: r.id }, r.id)));
  base.value = param('run') && !state.runs.find(r => r.id === param('run'))?.scenario ? param('run') : state.latest;
  const mode = h('select', { name: 'mode' }, h('option', { value: '' }, 'as the base'), h('option', { value: 'preassign' }, 'preassign'), h('option', { value: 'run' }, 'run (stock-aware)'));
  const days = h('input', { type: 'number', name: 'days', min: 1, max: 366, placeholder: 'as the base' });
  const date = h('input', { type: 'text', name: 'date', placeholder: 'YYYY-MM-DD (as the base)' });
  const pol = {};
  for (const k of ['max_per_category', 'min_shelf_days', 'repeat_window_days', 'never_again_rating']) {
    pol[k] = h('input', { type: 'number', name: k, placeholder: 'as the base', style: 'width:110px' });
  }
  const changes = h('div', {});
  const cats = state.categories;
  function addChange(kind) {
    const row = h('div', { class: 'row', 'data-change': kind });
    const sid = h('input', { type: 'number', name: 'snack_id', placeholder: 'snack id', style: 'width:110px' });
    const units = h('input', { type: 'number', name: 'units', placeholder: '+/- units', style: 'width:110px' });
    const lot = h('input', { type: 'text', name: 'lot_id', placeholder: 'lot id' });
    const cat = h('select', { name: 'category' }, cats.map(c => h('option', { value: c }, c)));
    const factor = h('input', { type: 'number', name: 'factor', step: '0.1', min: 0, placeholder: 'factor', style: 'width:90px' });
    const parts = { snack: ['Snack', sid, units], lot: ['Lot', sid, lot, units], category: ['Scale category', cat, 'by', factor] }[kind];
    row.append(...parts, h('button', { class: 'plain', type: 'button', onclick: () => row.remove() }, 'remove'));
    row.read = () => kind === 'category' ? { kind, category: cat.value, factor: Number(factor.value) }
      : { kind, snack_id: Number(sid.value), lot_id: kind === 'lot' ? lot.value : undefined, units: Number(units.value) };
    changes.append(row);
  }
  // The address names the scenario shown (?scenario=ID), so a link or a
  // reload shows it again: its difference against its base run.
  const overviewLink = id => h('p', {}, h('a', { href: `/?run=${encodeURIComponent(id)}`, onclick: ev2 => { ev2.preventDefault(); navigate(`/?run=${encodeURIComponent(id)}`); } }, 'Open the scenario\'s overview'));
  const result = h('div', { 'data-result': 'whatif' });
  const shown = param('scenario');
  if (shown) {
    const sr = state.runs.find(r => r.id === shown && r.scenario);
    if (!sr) {
      result.append(h('p', { class: 'bad' }, `There is no scenario ${shown} in this home: run one below.`));
    } else {
      const diff = lastScenario && lastScenario.run_id === shown ? lastScenario.diff : await api('compare', { a: sr.base_run, b: shown });
      result.append(overviewLink(shown), ...diffView(diff, 'wi-'));
    }
  }
  const runBtn = h('button', { type: 'submit', 'data-action': 'whatif' }, 'Run scenario');
  const status = h('span', { class: 'muted' });
  async function submit(ev) {
    ev.preventDefault();
    const spec = { base: base.value, stock: [...changes.children].map(r => r.read()) };
    if (mode.value) spec.mode = mode.value;
    if (days.value) spec.days = Number(days.value);
    if (date.value) spec.date = date.value.trim();
    const p = {};
    for (const [k, el] of Object.entries(pol)) if (el.value !== '') p[k] = Number(el.value);
    if (Object.keys(p).length) spec.policy = p;
    runBtn.disabled = true;
    status.textContent = 'running the scenario…';
    try {
      const t0 = performance.now();
      const r = await api('whatif', null, spec);
      lastScenario = r;
      status.textContent = `scenario ${r.run_id} written and compared in ${num(r.seconds, 2)} s (${num((performance.now() - t0) / 1000, 2)} s in all)`;
      await loadState();
      history.pushState(null, '', '/whatif?scenario=' + encodeURIComponent(r.run_id));
      result.replaceChildren(overviewLink(r.run_id), ...diffView(r.diff, 'wi-'));
      flushCharts();
      document.body.dataset.whatif = r.run_id;
    } catch (e) {
      status.textContent = '';
      showError(e.message);
    } finally { runBtn.disabled = false; }
  }
  return [
    h('h1', {}, 'What-if scenario'),
    h('p', { class: 'muted' }, 'Change stock, policy or dates, run the scenario on the current snapshot, and see what changes against the base run. The scenario is saved as a run marked scenario; it never becomes the latest run.'),
    h('form', { onsubmit: submit, 'data-form': 'whatif' },
      h('fieldset', {}, h('legend', {}, 'Start from'), h('div', { class: 'row' }, 'base run ', base, ' mode ', mode, ' first date ', date, ' days ', days)),
      h('fieldset', {}, h('legend', {}, 'Stock'), changes,
        h('div', { class: 'row' }, h('button', { class: 'plain', type: 'button', 'data-add': 'snack', onclick: () => addChange('snack') }, '+ units of a snack'),
          h('button', { class: 'plain', type: 'button', 'data-add': 'lot', onclick: () => addChange('lot') }, '+ units of a lot'),
          h('button', { class: 'plain', type: 'button', 'data-add': 'category', onclick: () => addChange('category') }, '+ scale a category'))),
      h('fieldset', {}, h('legend', {}, 'Policy'), h('div', { class: 'row' }, Object.entries(pol).map(([k, el]) => h('label', {}, k + ' ', el)))),
      h('div', { class: 'row' }, runBtn, status)),
    result,
  ];
}

const examples = [
  'FROM shortage_by_category',
  'SELECT run_id, mode, scenario, date_from, days, boxes, shortage_units FROM runs ORDER BY run_id DESC',
  'SELECT s.category, count(*) AS lots, sum(quantity) AS units, min(best_before) AS first_expiry FROM stock JOIN snacks s USING (snack_id) GROUP BY ALL ORDER BY units DESC',
];

async function sqlPage() {
  const text = h('textarea', { name: 'sql', spellcheck: 'false', 'data-sql': 'text' });
  text.value = param('q') || examples[0];
  const out = h('div', { 'data-result': 'sql' });
  const fmtSel = h('select', { name: 'format' }, ['csv', 'json', 'jsonl', 'markdown', 'parquet'].map(f => h('option', { value: f }, f)));
  const hidden = h('input', { type: 'hidden', name: 'sql' });
  const exportForm = h('form', { method: 'post', action: '/api/sql/export', class: 'row', onsubmit: () => { hidden.value = text.value; } },
    'Download the whole result as ', fmtSel, hidden, h('button', { type: 'submit', class: 'plain', 'data-action': 'sql-export' }, 'Download'));
  async function runIt(ev) {
    if (ev) ev.preventDefault();
    go('/sql', { q: text.value }, true);
  }
  const page = [
    h('h1', {}, 'SQL console'),
    h('p', { class: 'muted' }, 'Read-only SQL (DuckDB) over the snapshot and the runs, with assign query\'s guard: only queries run. latest.*, latest_preassign.*, latest_run.*, runs and the views of assign query are here.'),
    h('form', { onsubmit: runIt }, text, h('div', { class: 'row' }, h('button', { type: 'submit', 'data-action': 'sql' }, 'Run'),
      'Examples: ', examples.map((e, i) => h('a', { href: '#', onclick: ev => { ev.preventDefault(); text.value = e; } }, `#${i + 1} `)))),
    exportForm, out,
  ];
  if (param('q')) {
    try {
      const r = await api('sql', null, { sql: param('q') });
      if (r.error) throw new Error(r.error);
      out.replaceChildren(...r.results.map((res, i) => {
        const cols = res.columns.map((c, j) => ({ key: String(j), label: c, num: res.numeric[j] }));
        const rows = res.rows.map(row => Object.fromEntries(row.map((v, j) => [String(j), v])));
        const csvCols = res.columns.map((c, j) => ({ key: String(j), label: c }));
        return h('section', { class: 'panel', 'data-panel': 'sql-' + i },
          h('div', { class: 'head' }, h('h2', {}, `Result ${i + 1}: ${num(res.total)} rows${res.truncated ? `, the first ${num(res.rows.length)} shown` : ''}`),
            h('button', { class: 'plain', 'data-export': 'sql-' + i, onclick: () => download(`query-${i + 1}.csv`, csvCols.map(c => ({ key: c.key })), [Object.fromEntries(res.columns.map((c, j) => [String(j), c])), ...rows]) }, 'CSV')),
          h('div', { class: 'tablewrap', style: 'max-height:480px' }, table(cols, rows)));
      }), (r.warnings || []).map(w => h('p', { class: 'bad', 'data-sql-warning': '1' }, 'warning: ' + w)),
      h('p', { class: 'muted' }, `in ${num(r.seconds, 2)} s`));
    } catch (e) {
      out.replaceChildren(h('p', { class: 'bad', 'data-sql-error': '1' }, e.message));
    }
  }
  return page;
}

// ---------- router ----------

const pages = { '/': overview, '/stock': stock, '/snack': snack, '/user': user, '/runs': runs, '/compare': compare, '/whatif': whatif, '/sql': sqlPage };
const navOf = { '/compare': 'runs' };

let seq = 0;
async function render() {
  const my = ++seq;
  const started = performance.now();
  document.body.dataset.ready = '';
  showError('');
  const path = location.pathname in pages ? location.pathname : '/';
  const name = navOf[path] || (path === '/' ? 'overview' : path.slice(1));
  for (const a of document.querySelectorAll('#nav a')) {
    a.classList.toggle('active', a.dataset.page === name);
    const u = new URL(a.getAttribute('href'), location.href);
    if (param('run')) u.searchParams.set('run', param('run'));
    a.href = u.pathname + u.search;
  }
  if (!['/', '/stock'].includes(path)) chips([]);
  let content;
  try {
    // The state (runs, categories) is read on every page, so a new run or
    // snapshot shows without a reload; the overview does not need it, so
    // both load together there.
    const first = path === '/' ? overview() : null;
    if (first) first.catch(() => {});
    await loadState();
    content = await (first || pages[path]());
  } catch (e) {
    content = [h('p', { class: 'muted' }, 'Nothing to show.')];
    showError(e.message);
  }
  if (my !== seq) return; // a newer render started
  await echartsReady;
  if (my !== seq) return;
  app.replaceChildren(...[].concat(content).filter(Boolean));
  flushCharts();
  // Charts the new content did not take over leave with their page.
  for (const [id, c] of Object.entries(charts)) {
    if (c.isDisposed() || !c.getDom().isConnected) { if (!c.isDisposed()) c.dispose(); delete charts[id]; }
  }
  await new Promise(r => requestAnimationFrame(() => r()));
  window.__dash.renders++;
  window.__dash.last = { path, ms: performance.now() - started, at: performance.now() };
  document.body.dataset.ready = String(window.__dash.renders);
}

document.addEventListener('click', ev => {
  const a = ev.target.closest('#nav a, a.brand');
  if (!a || ev.ctrlKey || ev.metaKey || ev.shiftKey) return;
  ev.preventDefault();
  navigate(a.href);
});
window.addEventListener('popstate', render);
window.addEventListener('resize', () => Object.values(charts).forEach(c => c.resize()));
render();
