// Forms that follow a choice already made. Every page works without this script: the server
// groups waiver lines by resource, takes a unit left at "the resource's own unit" as that
// unit, and refuses a line of another resource. With it, a form narrows itself as you go:
//
//   <select data-lines-of="resource">   shows only the waiver lines of the resource chosen in
//                                       the select whose id is "resource" (its options carry
//                                       data-resource, the resources' data-unit); a select of
//                                       other things (tanks) names each one's resource in its
//                                       options' data-resource;
//   <select data-unit-of="resource">    takes the unit of the resource chosen there;
//   <input data-number-of="direction" data-number-north="..." data-number-south="...">
//                                       swaps the suggested number when the direction changes,
//                                       unless it was edited.
(function () {
  "use strict";

  function chosenOption(select) {
    return select.options[select.selectedIndex] || null;
  }

  function linesOf(lines, source) {
    var original = Array.prototype.map.call(lines.children, function (node) {
      return node.cloneNode(true);
    });

    function matches(option, resource) {
      return !option.value || !resource || option.getAttribute("data-resource") === resource;
    }

    function filter() {
      var chosen = chosenOption(source);
      var resource = (chosen && chosen.getAttribute("data-resource")) || source.value;
      var kept = lines.value;
      while (lines.firstChild) {
        lines.removeChild(lines.firstChild);
      }
      original.forEach(function (node) {
        if (node.tagName === "OPTGROUP") {
          var group = node.cloneNode(false);
          Array.prototype.forEach.call(node.children, function (option) {
            if (matches(option, resource)) {
              group.appendChild(option.cloneNode(true));
            }
          });
          if (group.children.length) {
            lines.appendChild(group);
          }
        } else if (matches(node, resource)) {
          lines.appendChild(node.cloneNode(true));
        }
      });
      lines.value = kept;
      if (lines.value !== kept) {
        lines.value = "";
      }
    }

    source.addEventListener("change", filter);
    filter();
  }

  function unitOf(unit, source) {
    source.addEventListener("change", function () {
      var option = chosenOption(source);
      var own = option && option.getAttribute("data-unit");
      unit.value = own || "";
    });
  }

  function numberOf(input, source) {
    source.addEventListener("change", function () {
      var suggested = [];
      Array.prototype.forEach.call(source.options, function (option) {
        suggested.push(input.getAttribute("data-number-" + option.value));
      });
      if (input.value === "" || suggested.indexOf(input.value) !== -1) {
        input.value = input.getAttribute("data-number-" + source.value) || input.value;
      }
    });
  }

  function wire(attribute, wireOne) {
    Array.prototype.forEach.call(document.querySelectorAll("[" + attribute + "]"), function (el) {
      var source = el.form && el.form.elements.namedItem(el.getAttribute(attribute));
      if (source && source.tagName === "SELECT") {
        wireOne(el, source);
      }
    });
  }

  function start() {
    wire("data-lines-of", linesOf);
    wire("data-unit-of", unitOf);
    wire("data-number-of", numberOf);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
