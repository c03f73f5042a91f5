// Progressive enhancements; every page works without this file.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // The phone's menu: one button folds the navigation away and back.
  function setUpMenu() {
    var toggle = document.querySelector(".menu-toggle");
    var menu = document.getElementById("site-menu");
    if (!toggle || !menu) return;
    toggle.hidden = false;
    toggle.addEventListener("click", function () {
      var open = menu.classList.toggle("open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }

  // A menu of the header closes when another opens, on Escape, and on a click elsewhere.
  function setUpDropdowns() {
    var menus = Array.prototype.slice.call(document.querySelectorAll("header details.dropdown"));
    function closeAll(except) {
      menus.forEach(function (menu) { if (menu !== except) menu.open = false; });
    }
    menus.forEach(function (menu) {
      menu.addEventListener("toggle", function () { if (menu.open) closeAll(menu); });
    });
    document.addEventListener("click", function (event) {
      if (!event.target.closest("header details.dropdown")) closeAll(null);
    });
    document.addEventListener("keydown", function (event) {
      if (event.key !== "Escape") return;
      var open = menus.filter(function (menu) { return menu.open; });
      closeAll(null);
      if (open.length) open[0].querySelector("summary").focus();
    });
  }

  // A form refused and shown again answers a post; show the form's own page's address instead.
  function showPageAddress() {
    var meta = document.querySelector('meta[name="office-page"]');
    if (!meta || !window.history.replaceState) return;
    var target = meta.getAttribute("content");
    if (target && target.charAt(0) === "/" && target.charAt(1) !== "/") {
      window.history.replaceState(window.history.state, "", target);
    }
  }

  showPageAddress();

  document.addEventListener("DOMContentLoaded", function () {
    setUpMenu();
    setUpDropdowns();
  });
})();
