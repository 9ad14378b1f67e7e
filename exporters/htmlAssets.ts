import { createHash } from 'node:crypto';

/** Styles of autopsy.html (inline; the page loads nothing). */
export const HTML_REPORT_CSS = `
:root{--fg:#1d2330;--muted:#5d6778;--line:#dde2ea;--bg:#f6f7f9;--card:#fff;--err:#d64545;--warn:#c98a14;--ok:#2f9e6b;--accent:#3b5bdb}
*{box-sizing:border-box}
body{font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","PingFang SC","Microsoft YaHei",sans-serif;margin:0;color:var(--fg);background:var(--bg)}
header{background:#1d2330;color:#fff;padding:1.2rem 2rem}
header h1{margin:0 0 .3rem;font-size:1.5rem}
header .meta{color:#c5cbd6;font-size:.85rem;display:flex;flex-wrap:wrap;gap:.3rem 1.4rem}
header .meta b{color:#fff;font-weight:600}
nav{position:sticky;top:0;z-index:2;background:#fff;border-bottom:1px solid var(--line);padding:.4rem 2rem;display:flex;flex-wrap:wrap;gap:.2rem 1rem;font-size:.85rem}
nav a{color:var(--accent);text-decoration:none}
main{padding:1rem 2rem 3rem;max-width:1240px}
section{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:1rem 1.2rem;margin:1rem 0;overflow-x:auto}
@media (max-width:640px){header,nav{padding-left:1rem;padding-right:1rem}main{padding:.5rem .5rem 2rem}section{padding:.8rem}}
h2{font-size:1.15rem;margin:0 0 .7rem}
h3{font-size:.95rem;margin:1rem 0 .4rem;color:var(--muted)}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(185px,1fr));gap:.6rem}
.card{border:1px solid var(--line);border-radius:6px;padding:.5rem .7rem;background:#fbfcfd}
.card .k{font-size:.75rem;color:var(--muted);text-transform:uppercase;letter-spacing:.02em}
.card .v{font-size:1.15rem;font-weight:600;overflow-wrap:anywhere}
.card.bad .v{color:var(--err)}
.card.good .v{color:var(--ok)}
.card.not-recorded .v{font-size:.85rem;font-weight:400;color:var(--muted)}
.diag{border:1px solid var(--line);border-left:5px solid var(--muted);border-radius:6px;padding:.6rem .9rem;margin:.6rem 0;background:#fff}
.diag.sev-critical{border-left-color:#9b1c1c}.diag.sev-high{border-left-color:var(--err)}.diag.sev-medium{border-left-color:var(--warn)}.diag.sev-low{border-left-color:#8795a8}
.diag .head{display:flex;flex-wrap:wrap;align-items:baseline;gap:.3rem .8rem}
.diag .rank{font-weight:700;color:var(--muted)}
.diag .title{font-weight:600;font-size:1.05rem}
.diag .id{font-family:ui-monospace,monospace;font-size:.8rem;color:var(--muted)}
.diag .fix{margin:.35rem 0;padding:.35rem .6rem;background:#eef6f1;border-radius:4px}
.diag .ev{font-size:.85rem;color:var(--muted)}
.diag ul{margin:.2rem 0 .2rem 1.2rem;padding:0;font-size:.85rem}
.ev-spans{margin:.2rem 0 .2rem 1.2rem;font-size:.85rem}
.ev-span .where{color:var(--muted)}
.ev-span a{color:var(--accent)}
.diag code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.85em;word-break:break-all}
.badge{display:inline-block;border-radius:10px;padding:0 .5rem;font-size:.75rem;font-weight:600;color:#fff;background:#8795a8}
.badge.sev-critical{background:#9b1c1c}.badge.sev-high{background:var(--err)}.badge.sev-medium{background:var(--warn)}
.badge.out-ok{background:var(--ok)}.badge.out-error{background:var(--err)}.badge.out-unfinished{background:var(--warn)}
table{border-collapse:collapse;margin:.4rem 0;font-size:.88rem;width:100%}
td,th{border-bottom:1px solid var(--line);padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f1f3f6;font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.wrap{word-break:break-word;max-width:540px}
.clip{max-height:9em;overflow:auto}
@media print{.clip{max-height:none;overflow:visible}}
.charts{display:flex;flex-wrap:wrap;gap:1rem 2rem}
.charts>div{min-width:min(320px,100%)}
.chart{max-width:100%;height:auto}
.chart-label{font-size:12px;text-anchor:end;fill:var(--fg)}
.chart-value{font-size:12px;fill:var(--muted)}
.chart-bar{fill:var(--accent)}.chart-bar.tone-error{fill:var(--err)}.chart-bar.tone-ok{fill:var(--ok)}
.chart-row.linked{cursor:pointer}.chart-row.linked:hover .chart-bar,.chart-row.linked:focus .chart-bar{opacity:.75}
.chart-row.linked:focus{outline:none}.chart-row.linked:focus-visible .chart-bar{stroke:var(--fg);stroke-width:2}
.timeline{display:block;max-width:100%;height:auto}
.tl-band{fill:#f7f8fa}
.tl-label{font-size:12px;font-weight:600;fill:var(--fg)}
.tl-tick{font-size:10px;fill:var(--muted);text-anchor:middle}
.tl-grid{stroke:#e8ebf0;stroke-width:1}
.tl-mark{fill:var(--err);stroke:var(--err);stroke-width:1.2;stroke-dasharray:2 2}
.bar{stroke:none}
.kind-stage{fill:#94a3b8}.kind-task{fill:#60a5fa}.kind-llm{fill:#a78bfa}.kind-code_exec{fill:#2dd4bf}.kind-autofix{fill:#fbbf24}
.bar.outcome-error{fill:var(--err)}
.bar.outcome-unfinished{fill:url(#hatch);stroke:#b7791f;stroke-width:1}
.timeline .bar.hl{stroke:var(--fg);stroke-width:3}
.legend{display:flex;flex-wrap:wrap;gap:.2rem 1rem;font-size:.8rem;color:var(--muted);margin-top:.3rem}
.sw{display:inline-block;width:12px;height:10px;border-radius:2px;margin-right:.3rem;vertical-align:-1px}
.sw.kind-stage{background:#94a3b8}.sw.kind-task{background:#60a5fa}.sw.kind-llm{background:#a78bfa}.sw.kind-code_exec{background:#2dd4bf}.sw.kind-autofix{background:#fbbf24}
.sw.outcome-error{background:var(--err)}.sw.outcome-unfinished{background:repeating-linear-gradient(45deg,#f3c969 0 3px,#b7791f 3px 5px)}.sw.mark{background:none;border-left:2px dashed var(--err);border-radius:0}
.note{color:var(--muted);font-size:.85rem}
pre{background:#f1f3f6;border-radius:4px;padding:.5rem .7rem;overflow:auto;font-size:.8rem;max-height:360px;white-space:pre-wrap;word-break:break-word}
.filters{display:flex;flex-wrap:wrap;gap:.4rem .8rem;align-items:center;margin-bottom:.5rem;font-size:.85rem}
.filters select,.filters input{font:inherit;padding:.15rem .3rem;max-width:260px}
.ev-span-filter{background:#e7edff;border-radius:4px;padding:.1rem .4rem;max-width:100%;overflow-wrap:anywhere}
.ev-span-filter button{font:inherit;font-size:.8rem;margin-left:.3rem}
.ev-count{font-weight:600}
.ev-scroll{overflow-x:auto}.ev-head,.ev-viewport{min-width:760px}
.ev-head,.ev-row{display:grid;grid-template-columns:110px 80px 74px 170px 110px 1fr;gap:0 .6rem;align-items:center;padding:0 .5rem}
.ev-head{font-weight:600;background:#f1f3f6;border:1px solid var(--line);border-bottom:0;height:26px;font-size:.8rem}
.ev-viewport{position:relative;height:520px;overflow:auto;border:1px solid var(--line);background:#fff}
.ev-rows{position:absolute;left:0;right:0;top:0}
.ev-row{height:24px;font-size:.8rem;border-bottom:1px solid #f0f2f5;cursor:pointer;white-space:nowrap}
.ev-row span{overflow:hidden;text-overflow:ellipsis}
.ev-row:hover{background:#f5f8ff}
.ev-row.sel{background:#e7edff}
.ev-viewport:focus-visible{outline:2px solid var(--accent);outline-offset:1px}
.ev-viewport:focus .ev-row.act{outline:2px solid var(--accent);outline-offset:-2px}
.ev-row.lvl-ERROR{color:var(--err)}.ev-row.lvl-WARNING{color:#9a6a0b}
.ev-row .c-data{font-family:ui-monospace,monospace;color:var(--muted)}
.ev-row.lvl-ERROR .c-data{color:#b33a3a}
`;

/**
 * The page's only script: the event list (filters by type, level, stage, text and a diagnosis's
 * span; a virtualised list that draws only the rows in view, so 100,000 events stay fast), the
 * chart bars that filter it, and the links of a diagnosis's evidence spans to their events and
 * timeline bars. It writes text with textContent only, never HTML.
 */
export const HTML_REPORT_SCRIPT = `(function () {
  'use strict';
  var ROW = 24;

  // An evidence span's bar in the timeline (a page without the event list has them too): outlined, the first one returned.
  function highlight(span) {
    var found = null;
    Array.prototype.forEach.call(document.querySelectorAll('#timeline .bar[data-span]'), function (bar) {
      var match = span !== -1 && bar.getAttribute('data-span') === String(span);
      bar.classList.toggle('hl', match);
      if (match && !found) found = bar;
    });
    return found;
  }
  Array.prototype.forEach.call(document.querySelectorAll('[data-span-bar]'), function (link) {
    link.addEventListener('click', function (event) {
      var bar = highlight(Number(link.getAttribute('data-span-bar')));
      if (!bar) return;
      event.preventDefault();
      bar.scrollIntoView({ block: 'center' });
    });
  });

  var blob = document.getElementById('autopsy-events');
  var root = document.getElementById('event-list');
  if (!blob || !root) return;
  var list = JSON.parse(blob.textContent || '{}');
  var rows = list.rows || [];
  // The diagnosis span whose events the list shows (an index in list.spans; a row's 7th element), or -1.
  var spanNames = list.spans || [];
  var span = -1;
  var names = { type: list.types || [], level: list.levels || [], stage: list.stages || [] };
  var column = { type: 2, level: 3, stage: 4 };
  function $(selector) { return root.querySelector(selector); }
  var viewport = $('.ev-viewport'), spacer = $('.ev-spacer'), body = $('.ev-rows'), count = $('.ev-count'), detail = $('.ev-detail');
  var search = $('input[name=q]');
  var spanFilter = $('.ev-span-filter');
  var selects = { type: $('select[name=type]'), level: $('select[name=level]'), stage: $('select[name=stage]') };
  var haystack = null;
  var matches = [];
  var selected = -1;
  // The row the arrow keys are on (a position in matches), announced through aria-activedescendant.
  var active = -1;

  Object.keys(selects).forEach(function (field) {
    var select = selects[field], n = names[field].length, counts = new Array(n), i;
    for (i = 0; i < n; i++) counts[i] = 0;
    for (i = 0; i < rows.length; i++) counts[rows[i][column[field]]]++;
    var order = [];
    for (i = 0; i < n; i++) if (counts[i] > 0) order.push(i);
    if (field !== 'level') order.sort(function (a, b) { return names[field][a] < names[field][b] ? -1 : names[field][a] > names[field][b] ? 1 : 0; });
    order.forEach(function (index) {
      var option = document.createElement('option');
      option.value = String(index);
      option.textContent = names[field][index] + ' (' + counts[index] + ')';
      select.appendChild(option);
    });
    select.addEventListener('change', apply);
  });

  function apply() {
    var type = selects.type.value === '' ? -1 : Number(selects.type.value);
    var level = selects.level.value === '' ? -1 : Number(selects.level.value);
    var stage = selects.stage.value === '' ? -1 : Number(selects.stage.value);
    var query = search.value.trim().toLowerCase();
    spanFilter.hidden = span === -1;
    if (span !== -1) spanFilter.querySelector('code').textContent = spanNames[span];
    if (query && !haystack) {
      haystack = rows.map(function (r) { return (names.type[r[2]] + ' ' + names.level[r[3]] + ' ' + names.stage[r[4]] + ' ' + r[5]).toLowerCase(); });
    }
    matches = [];
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i];
      if (type !== -1 && r[2] !== type) continue;
      if (level !== -1 && r[3] !== level) continue;
      if (stage !== -1 && r[4] !== stage) continue;
      if (span !== -1 && r[6] !== span) continue;
      if (query && haystack[i].indexOf(query) === -1) continue;
      matches.push(i);
    }
    count.textContent = matches.length + ' / ' + rows.length;
    root.setAttribute('data-matches', String(matches.length));
    spacer.style.height = matches.length * ROW + 'px';
    viewport.scrollTop = 0;
    active = -1;
    viewport.removeAttribute('aria-activedescendant');
    draw();
  }

  function cell(className, text, title) {
    var span = document.createElement('span');
    span.className = className;
    span.textContent = text;
    if (title) span.title = title;
    return span;
  }

  function rowElement(index) {
    var r = rows[index];
    var div = document.createElement('div');
    div.className = 'ev-row lvl-' + names.level[r[3]] + (index === selected ? ' sel' : '') + (active !== -1 && matches[active] === index ? ' act' : '');
    div.setAttribute('data-index', String(index));
    div.id = 'ev-' + index;
    div.setAttribute('role', 'option');
    div.setAttribute('aria-selected', index === selected ? 'true' : 'false');
    div.appendChild(cell('c-time', r[0].length >= 23 ? r[0].slice(11, 23) : r[0], r[0]));
    div.appendChild(cell('c-elapsed', '+' + Number(r[1]).toFixed(3) + 's'));
    div.appendChild(cell('c-level', names.level[r[3]]));
    div.appendChild(cell('c-type', names.type[r[2]]));
    div.appendChild(cell('c-stage', names.stage[r[4]]));
    div.appendChild(cell('c-data', r[5]));
    return div;
  }

  var scheduled = false;
  function draw() {
    scheduled = false;
    var height = viewport.clientHeight || 520;
    var first = Math.max(0, Math.floor(viewport.scrollTop / ROW) - 10);
    var last = Math.min(matches.length, first + Math.ceil(height / ROW) + 20);
    body.style.top = first * ROW + 'px';
    body.textContent = '';
    var fragment = document.createDocumentFragment();
    for (var j = first; j < last; j++) fragment.appendChild(rowElement(matches[j]));
    body.appendChild(fragment);
  }
  viewport.addEventListener('scroll', function () {
    if (!scheduled) { scheduled = true; window.requestAnimationFrame(draw); }
  });

  function show(index) {
    selected = index;
    var r = rows[selected], data;
    try { data = JSON.parse(r[5]); } catch (e) { data = r[5]; }
    detail.hidden = false;
    detail.textContent = JSON.stringify({ timestamp: r[0], elapsed_seconds: r[1], type: names.type[r[2]], level: names.level[r[3]], stage: names.stage[r[4]], data: data }, null, 2);
    draw();
  }

  body.addEventListener('click', function (event) {
    var target = event.target instanceof Element ? event.target.closest('.ev-row') : null;
    if (!target) return;
    var index = Number(target.getAttribute('data-index'));
    active = matches.indexOf(index);
    if (active !== -1) viewport.setAttribute('aria-activedescendant', 'ev-' + index);
    show(index);
  });

  // The keyboard: arrows, Page Up / Down, Home and End move through the list; Enter or Space opens the row.
  viewport.addEventListener('keydown', function (event) {
    if (matches.length === 0) return;
    var page = Math.max(1, Math.floor(viewport.clientHeight / ROW) - 1), to = active;
    switch (event.key) {
      case 'ArrowDown': to = active + 1; break;
      case 'ArrowUp': to = active === -1 ? 0 : active - 1; break;
      case 'PageDown': to = active + page; break;
      case 'PageUp': to = active - page; break;
      case 'Home': to = 0; break;
      case 'End': to = matches.length - 1; break;
      case 'Enter': case ' ':
        event.preventDefault();
        if (active !== -1) show(matches[active]);
        return;
      default: return;
    }
    event.preventDefault();
    active = Math.max(0, Math.min(matches.length - 1, to));
    if (active * ROW < viewport.scrollTop) viewport.scrollTop = active * ROW;
    else if ((active + 1) * ROW > viewport.scrollTop + viewport.clientHeight) viewport.scrollTop = (active + 1) * ROW - viewport.clientHeight;
    draw();
    viewport.setAttribute('aria-activedescendant', 'ev-' + matches[active]);
  });

  var timer = 0;
  search.addEventListener('input', function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(apply, 150);
  });

  // A name as the bar's data-filter-* attribute reads back: the HTML parser turns NUL into U+FFFD
  // and CR / CRLF into LF, and a lone surrogate was written to the file as U+FFFD.
  function asAttribute(name) {
    var text = name.replace(/\\u0000/g, '\\ufffd').replace(/\\r\\n?/g, '\\n');
    return typeof text.toWellFormed === 'function' ? text.toWellFormed() : text;
  }

  function filterFrom(element) {
    ['type', 'stage', 'level'].forEach(function (field) {
      var value = element.getAttribute('data-filter-' + field);
      if (value === null) return;
      var index = -1;
      for (var i = 0; i < names[field].length && index === -1; i++) if (asAttribute(names[field][i]) === value) index = i;
      if (index === -1) return;
      clearFilters();
      selects[field].value = String(index);
      apply();
      root.scrollIntoView();
    });
  }
  function clearFilters() {
    selects.type.value = ''; selects.level.value = ''; selects.stage.value = ''; search.value = '';
    span = -1;
    highlight(-1);
  }

  // A diagnosis's span link: the list shows that span's events alone (until "show every span"), and its bar is outlined.
  Array.prototype.forEach.call(document.querySelectorAll('[data-span-events]'), function (link) {
    link.addEventListener('click', function (event) {
      var index = Number(link.getAttribute('data-span-events'));
      if (!(index >= 0 && index < spanNames.length)) return;
      event.preventDefault();
      clearFilters();
      span = index;
      highlight(index);
      apply();
      root.scrollIntoView();
    });
  });
  spanFilter.querySelector('button').addEventListener('click', function () {
    span = -1;
    highlight(-1);
    apply();
  });

  Array.prototype.forEach.call(document.querySelectorAll('[data-filter-type],[data-filter-stage],[data-filter-level]'), function (element) {
    element.addEventListener('click', function () { filterFrom(element); });
    element.addEventListener('keydown', function (event) {
      if (event.key !== 'Enter' && event.key !== ' ') return;
      event.preventDefault();
      filterFrom(element);
    });
  });

  apply();
})();`;

/** CSP source for the script above: only this exact script may run. */
export const HTML_REPORT_SCRIPT_HASH = `sha256-${createHash('sha256').update(HTML_REPORT_SCRIPT, 'utf8').digest('base64')}`;
