// The quarterly report's "列印 / 另存 PDF" button: a script file, as the pages' CSP allows no inline script.
// Without JavaScript the button stays hidden and the browser's own print (Ctrl+P) does the same.
(function () {
  var button = document.getElementById("print-report");
  if (!button) return;
  button.hidden = false;
  button.addEventListener("click", function () { window.print(); });
})();
