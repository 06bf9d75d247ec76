// Line-by-line review of a forecast draft from the keyboard: j / k move to the next / previous
// line, x ticks it for a bulk decision, a accepts it, e opens its edit form. Keys typed into a
// field are left alone. Accepting swaps the page body (htmx): focus returns to the same row.
(function () {
  "use strict";
  var current = -1;

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("#draft-table tbody tr[data-line]"));
  }

  function focusRow(index) {
    var all = rows();
    if (!all.length) return;
    current = Math.max(0, Math.min(index, all.length - 1));
    all.forEach(function (row, i) { row.classList.toggle("reviewing", i === current); });
    var link = all[current].querySelector("th a");
    if (link) link.focus();
  }

  function rowOfFocus() {
    var row = document.activeElement && document.activeElement.closest
      ? document.activeElement.closest("#draft-table tbody tr[data-line]")
      : null;
    return row ? rows().indexOf(row) : current;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    if (target && (target.isContentEditable || /^(INPUT|SELECT|TEXTAREA|BUTTON)$/.test(target.tagName) && target.type !== "checkbox")) return;
    if (!document.getElementById("draft-table")) return;
    var index = rowOfFocus();
    var row = rows()[index];
    switch (event.key) {
      case "j": focusRow(index + 1); break;
      case "k": focusRow(index < 0 ? 0 : index - 1); break;
      case "x":
        if (!row) return;
        var box = row.querySelector("input[type=checkbox]");
        if (box) box.checked = !box.checked;
        break;
      case "a":
        if (!row) return;
        var accept = row.querySelector("form[data-accept] button");
        if (accept) { current = index; accept.click(); }
        break;
      case "e":
        if (!row) return;
        var edit = row.querySelector("a[data-edit]");
        if (edit) edit.click();
        break;
      default: return;
    }
    event.preventDefault();
  });

  document.addEventListener("htmx:afterSettle", function () {
    if (current >= 0) focusRow(current);
  });
})();
