"use strict";
(function () {
  function cmp(a, b) {
    if (a === b) return 0;
    if (a === null) return 1;
    if (b === null) return -1;
    return a < b ? -1 : 1;
  }
  function setUp(table) {
    var data = JSON.parse(document.getElementById(table.dataset.src).textContent);
    var filter = document.getElementById(table.dataset.filter);
    var status = document.getElementById(table.dataset.status);
    var body = table.tBodies[0], heads = table.tHead.rows[0].cells;
    var limit = parseInt(table.dataset.limit, 10);
    var order = data.rows.map(function (_, i) { return i; });
    var text = data.rows.map(function (r) { return r.join("\u0001").toLowerCase(); });
    var sorted = -1, descending = false;
    function render() {
      var q = filter.value.trim().toLowerCase(), hits = [];
      for (var k = 0; k < order.length; k++) {
        if (!q || text[order[k]].indexOf(q) >= 0) hits.push(order[k]);
      }
      var rows = document.createDocumentFragment();
      hits.slice(0, limit).forEach(function (i) {
        var tr = document.createElement("tr");
        data.rows[i].forEach(function (cell, c) {
          var td = document.createElement("td");
          td.textContent = cell;
          if (data.classes[c]) td.className = data.classes[c];
          tr.appendChild(td);
        });
        rows.appendChild(tr);
      });
      body.replaceChildren(rows);
      status.textContent = hits.length + " of " + data.rows.length + " rows" +
        (hits.length > limit ? " (first " + limit + " shown)" : "") + (q ? " match \u201c" + filter.value + "\u201d" : "");
    }
    Array.prototype.forEach.call(heads, function (th, c) {
      th.tabIndex = 0;
      th.title = "sort by " + th.textContent;
      function sort() {
        descending = sorted === c ? !descending : data.numeric[c];
        sorted = c;
        order.sort(function (a, b) {
          var ka = data.keys[a][c], kb = data.keys[b][c];
          if (ka === null || kb === null) return cmp(ka, kb) || a - b;
          return (descending ? cmp(kb, ka) : cmp(ka, kb)) || a - b;
        });
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", descending ? "descending" : "ascending");
        render();
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter") sort(); });
    });
    filter.addEventListener("input", render);
    filter.hidden = false;
  }
  document.querySelectorAll("table.worklist").forEach(setUp);
})();
