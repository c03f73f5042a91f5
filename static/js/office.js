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

  // A wide table scrolls in its box; a box that scrolls can be reached and scrolled from the
  // keyboard, and says what it holds. A box that fits stays out of the tab order.
  function labelOf(box) {
    var caption = box.querySelector("caption");
    if (caption) return caption.textContent.trim();
    var figure = box.previousElementSibling;
    var title = figure && figure.querySelector("figcaption, title");
    if (title) return title.textContent.trim();
    var heading = box.previousElementSibling;
    while (heading && !/^H[1-6]$/.test(heading.tagName)) heading = heading.previousElementSibling;
    return heading ? heading.textContent.trim() : document.title;
  }

  function setUpScrollBoxes() {
    var tables = document.querySelectorAll("main table");
    Array.prototype.forEach.call(tables, function (table) {
      if (table.closest(".table-wrap, .table-scroll, .scroll-box")) return;
      var box = document.createElement("div");
      box.className = "table-scroll";
      table.parentNode.insertBefore(box, table);
      box.appendChild(table);
    });
    var boxes = document.querySelectorAll(".table-wrap, .table-scroll, .scroll-box");
    Array.prototype.forEach.call(boxes, function (box) {
      if (box.scrollWidth > box.clientWidth + 1 || box.scrollHeight > box.clientHeight + 1) {
        box.setAttribute("tabindex", "0");
        if (!box.hasAttribute("role")) box.setAttribute("role", "region");
        if (!box.hasAttribute("aria-label")) box.setAttribute("aria-label", labelOf(box));
      } else if (box.getAttribute("tabindex") === "0" && !box.hasAttribute("data-keep-tabindex")) {
        box.removeAttribute("tabindex");
      }
    });
  }

  // An action that cannot be undone asks first, saying what it will do.
  document.addEventListener("submit", function (event) {
    var question = event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });

  // Every date field shows and takes YYYY-MM-DD, as the app writes dates, whatever the
  // browser's own locale would show (mm/dd/yyyy in an en-US browser); its calendar speaks
  // the page's language. Without the script the browser's own date field stays.
  function setUpDates() {
    if (!window.flatpickr) return;
    var korean = document.documentElement.lang === "ko" && window.flatpickr.l10ns.ko;
    var fields = document.querySelectorAll('input[type="date"]');
    Array.prototype.forEach.call(fields, function (field) {
      field.type = "text";
      field.setAttribute("placeholder", "YYYY-MM-DD");
      field.setAttribute("autocomplete", "off");
      window.flatpickr(field, {
        dateFormat: "Y-m-d",
        allowInput: true,
        disableMobile: true,
        minDate: field.getAttribute("min") || null,
        maxDate: field.getAttribute("max") || null,
        locale: korean ? window.flatpickr.l10ns.ko : "default"
      });
    });
  }

  // A job's page follows the job: its state, progress and what it found so far are read
  // again every second until it ends (without the script the page reloads itself).
  function followJob() {
    var box = document.querySelector("[data-job-status]");
    if (!box || box.hasAttribute("data-finished") || !window.fetch) return;
    var text = box.querySelector("[data-job-text]");
    var bar = box.querySelector("progress");
    function update(job) {
      if (text.textContent !== job.status_text) text.textContent = job.status_text;
      if (job.percent === null) bar.removeAttribute("value"); else bar.value = job.percent;
      bar.hidden = job.finished;
      box.querySelector("[data-job-detail]").innerHTML = job.detail_html;
      box.querySelector("[data-job-actions]").innerHTML = job.actions_html;
      if (job.finished) box.setAttribute("data-finished", "");
    }
    function poll() {
      window.fetch(box.getAttribute("data-job-status"), {
        credentials: "same-origin", headers: { Accept: "application/json" }
      }).then(function (response) {
        if (!response.ok) throw new Error(response.status);
        return response.json();
      }).then(function (job) {
        update(job);
        if (!job.finished) window.setTimeout(poll, 1000);
      }).catch(function () { window.setTimeout(poll, 5000); });
    }
    window.setTimeout(poll, 1000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    followJob();
    setUpDates();
    setUpMenu();
    setUpDropdowns();
    setUpScrollBoxes();
  });
  window.addEventListener("resize", setUpScrollBoxes);
})();
