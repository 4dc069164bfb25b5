// Search page: instant filtering and sorting of the rows already on the page. The page works
// without it (the filters are a GET form, the column headers are links). Row data comes from
// other nodes: it is only read from data attributes and compared, never turned into HTML.
(function () {
  'use strict';
  var form = document.getElementById('search-filters');
  if (!form) return;
  var rows = Array.prototype.slice.call(document.querySelectorAll('tr.search-row'));
  var groups = Array.prototype.slice.call(document.querySelectorAll('section.search-group'));
  var summary = document.getElementById('search-summary');
  var noMatch = document.getElementById('search-nomatch-js');
  var controls = {
    q: form.elements.namedItem('q'),
    type: form.elements.namedItem('type'),
    health: form.elements.namedItem('health'),
    microcloud: form.elements.namedItem('microcloud'),
    near: form.elements.namedItem('near'),
  };
  // What the server already filtered on: the client can narrow that down, not widen it.
  var server = {};
  Object.keys(controls).forEach(function (name) { server[name] = controls[name] ? controls[name].value : ''; });
  var total = rows.length;
  // What the text filter matches: everything the row shows, plus its type (read once, as text).
  var texts = rows.map(function (row) {
    return ((row.getAttribute('data-type') || '') + ' ' + row.textContent).replace(/\s+/g, ' ').toLowerCase();
  });

  function value(name) {
    var control = controls[name];
    return control ? control.value : '';
  }

  /** True when the rows on the page can answer the current filters (else the server must). */
  function answerableHere() {
    if (value('near') !== server.near) return false;
    if (server.type && value('type') !== server.type) return false;
    if (server.health && value('health') !== server.health) return false;
    if (server.microcloud && value('microcloud') !== server.microcloud) return false;
    if (server.q && value('q').toLowerCase().indexOf(server.q.toLowerCase()) === -1) return false;
    return true;
  }

  function apply() {
    var q = value('q').trim().toLowerCase();
    var type = value('type');
    var health = value('health');
    var microcloud = value('microcloud');
    var shown = 0;
    var perType = {};
    rows.forEach(function (row, i) {
      var ok = (!type || row.getAttribute('data-type') === type)
        && (!health || row.getAttribute('data-health') === health)
        && (!microcloud || row.getAttribute('data-microcloud') === microcloud)
        && (!q || texts[i].indexOf(q) !== -1);
      row.hidden = !ok;
      if (ok) {
        shown++;
        var t = row.getAttribute('data-type');
        perType[t] = (perType[t] || 0) + 1;
      }
    });
    groups.forEach(function (group) {
      var t = group.getAttribute('data-type');
      var count = perType[t] || 0;
      group.hidden = count === 0;
      var badge = group.querySelector('[data-group-count]');
      if (badge) badge.textContent = String(count);
    });
    Array.prototype.forEach.call(document.querySelectorAll('.search-type-link'), function (link) {
      var count = perType[link.getAttribute('data-type')] || 0;
      link.hidden = count === 0;
      var badge = link.querySelector('[data-count-for]');
      if (badge) badge.textContent = String(count);
    });
    if (summary && summary.getAttribute('data-template')) {
      summary.textContent = summary.getAttribute('data-template').replace('{shown}', String(shown)).replace('{total}', String(total));
    }
    if (noMatch) noMatch.classList.toggle('d-none', shown !== 0 || total === 0);
    var params = new URLSearchParams();
    Object.keys(controls).forEach(function (name) { if (value(name)) params.set(name, value(name)); });
    var sort = form.elements.namedItem('sort');
    if (sort && sort.value) params.set('sort', sort.value);
    var qs = params.toString();
    history.replaceState(null, '', qs ? '/search?' + qs : '/search');
  }

  function changed() {
    if (answerableHere()) apply();
    else form.submit();
  }

  form.addEventListener('input', function (event) {
    if (event.target === controls.q && answerableHere()) apply();
  });
  form.addEventListener('change', changed);
  form.addEventListener('submit', function (event) {
    if (!answerableHere()) return; // let the server answer
    event.preventDefault();
    apply();
  });

  // Sorting: every table of the page by the same column, instantly.
  var sortInput = form.elements.namedItem('sort');
  var current = { key: sortInput && sortInput.value ? sortInput.value : 'rtt', dir: 1 };
  function keyOf(row, key) {
    if (key === 'rtt') {
      var rtt = row.getAttribute('data-rtt');
      return rtt === '' || rtt === null ? Infinity : Number(rtt);
    }
    return (row.getAttribute('data-' + key) || '').toLowerCase();
  }
  function sortBy(key) {
    current = { key: key, dir: current.key === key ? -current.dir : 1 };
    Array.prototype.forEach.call(document.querySelectorAll('table.search-table'), function (table) {
      var body = table.tBodies[0];
      var list = Array.prototype.slice.call(body.rows);
      list.sort(function (a, b) {
        var ka = keyOf(a, key);
        var kb = keyOf(b, key);
        var c;
        if (typeof ka === 'number') c = ka === kb ? 0 : (ka < kb ? -1 : 1);
        else c = ka.localeCompare(kb);
        if (c === 0) c = (a.getAttribute('data-node') || '').localeCompare(b.getAttribute('data-node') || '');
        return c * current.dir;
      });
      list.forEach(function (row) { body.appendChild(row); });
      Array.prototype.forEach.call(table.querySelectorAll('th'), function (th) {
        var link = th.querySelector('[data-sort]');
        if (!link) return;
        if (link.getAttribute('data-sort') === key) th.setAttribute('aria-sort', current.dir === 1 ? 'ascending' : 'descending');
        else th.removeAttribute('aria-sort');
      });
    });
  }
  document.addEventListener('click', function (event) {
    var link = event.target.closest('a[data-sort]');
    if (!link) return;
    event.preventDefault();
    sortBy(link.getAttribute('data-sort'));
  });
})();
