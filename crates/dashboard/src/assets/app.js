// wagewatch dashboard: small progressive enhancements; every page works without JavaScript.
document.addEventListener("DOMContentLoaded", function () {
  // Filters apply as soon as a select changes (the Apply button stays for keyboard and no-JS use).
  document.querySelectorAll("form.filters select").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
  // Rows are links: Enter on a focused row opens the entity.
  document.querySelectorAll("tr[data-href]").forEach(function (row) {
    row.addEventListener("keydown", function (e) {
      if (e.key === "Enter") { window.location.href = row.getAttribute("data-href"); }
    });
  });
});
