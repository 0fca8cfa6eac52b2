/* Accessible tabs. dash-bootstrap-components 2.0 draws every tab of dbc.Tabs with tabindex="-1", the same id
 * and an aria-controls naming no element: keyboard users cannot reach the tabs and axe reports
 * aria-valid-attr-value. This gives each tab its own id, puts it in the Tab order, says which is selected and
 * links the panel to it (WAI-ARIA tabs pattern), again whenever the tabs are redrawn. It also names the
 * upload boxes' file inputs, which dcc.Upload draws without a label. */
(function () {
  "use strict";
  function fixTabs() {
    document.querySelectorAll("ul[role=tablist][id]").forEach(function (list) {
      var content = list.nextElementSibling && list.nextElementSibling.classList.contains("tab-content")
        ? list.nextElementSibling : null;
      var pane = content ? content.querySelector(":scope > [role=tabpanel]") : null;
      list.querySelectorAll("[role=tab]").forEach(function (tab, index) {
        var id = list.id + "-tab-" + index;
        var active = tab.classList.contains("active");
        set(tab, "id", id);
        set(tab, "tabindex", "0");
        set(tab, "aria-selected", String(active));
        if (active && pane && pane.id) {
          set(tab, "aria-controls", pane.id);
          set(pane, "aria-labelledby", id);
        } else if (tab.hasAttribute("aria-controls")) {
          tab.removeAttribute("aria-controls");  // only the active tab's panel is drawn
        }
      });
    });
  }
  /* dcc.Upload's file input has no name: give it its box's ("Small areas file"). */
  function fixUploads() {
    document.querySelectorAll(".upload-box input[type=file]:not([aria-label])").forEach(function (input) {
      var title = input.closest(".upload-box").querySelector(".fw-semibold");
      input.setAttribute("aria-label", (title ? title.textContent : "Data") + " file");
    });
  }
  function set(element, name, value) {
    if (element.getAttribute(name) !== value) { element.setAttribute(name, value); }
  }
  function fixAll() { fixTabs(); fixUploads(); }
  var observer = new MutationObserver(fixAll);
  function start() {
    fixAll();
    observer.observe(document.body, {subtree: true, childList: true, attributes: true, attributeFilter: ["class"]});
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
