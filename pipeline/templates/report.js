// insightmap report: draws the figures and runs the filters. No network, no storage, no eval.
(function () {
  "use strict";
  var settings = JSON.parse(document.getElementById("report-settings").textContent);
  var PAGE = settings.first, MORE = settings.more;

  document.querySelectorAll("script[data-figure]").forEach(function (source) {
    var figure = JSON.parse(source.textContent);
    var target = document.getElementById(source.getAttribute("data-figure"));
    Plotly.newPlot(target, figure.data, figure.layout, { displaylogo: false, responsive: true });
  });

  var text = document.getElementById("filter-text");
  var zone = document.getElementById("filter-zone");
  var theme = document.getElementById("filter-theme");
  var person = document.getElementById("filter-participant");
  var count = document.getElementById("filter-count");
  var themes = Array.prototype.slice.call(document.querySelectorAll("article.theme"));
  var shown = {};  // theme id -> quotes shown when no filter is on

  function voices(element) {
    return (element.getAttribute("data-voices") || "").split(" ").filter(Boolean);
  }

  function paginate(card, limit) {
    var quotes = card.querySelectorAll(".quote");
    var button = card.querySelector("button.more");
    quotes.forEach(function (q, i) {
      q.hidden = i >= limit;
      if (i >= limit) { q.setAttribute("data-page-hidden", ""); } else { q.removeAttribute("data-page-hidden"); }
    });
    var rest = quotes.length - Math.min(limit, quotes.length);
    button.hidden = rest <= 0;
    button.textContent = "Show " + Math.min(rest, MORE) + " more of " + rest + " (one quote per further participant)";
  }

  function apply() {
    var words = text.value.trim().toLowerCase();
    var z = zone.value, t = theme.value, p = person.value;
    var filtering = words || p;
    var visible = 0;
    themes.forEach(function (card) {
      var ok = (!z || card.getAttribute("data-zone") === z) && (!t || card.getAttribute("data-theme") === t);
      if (ok && p) { ok = voices(card).indexOf(p) >= 0; }
      var heading = (card.querySelector("h4").textContent + " " + card.querySelector(".keyphrases").textContent).toLowerCase();
      var headingMatch = !words || heading.indexOf(words) >= 0;
      var anyQuote = false;
      card.querySelectorAll(".quote").forEach(function (q) {
        var match = (!p || q.getAttribute("data-participant") === p) &&
          (!words || headingMatch || q.textContent.toLowerCase().indexOf(words) >= 0);
        q.hidden = !match;
        q.removeAttribute("data-page-hidden");
        anyQuote = anyQuote || match;
      });
      if (ok && words && !headingMatch && !anyQuote) { ok = false; }
      card.hidden = !ok;
      if (ok && !filtering) { paginate(card, shown[card.getAttribute("data-theme")] || PAGE); }
      if (filtering) { card.querySelector("button.more").hidden = true; }
      visible += ok ? 1 : 0;
    });
    document.querySelectorAll("section.zone").forEach(function (section) {
      var cards = section.querySelectorAll("article.theme");
      var any = Array.prototype.some.call(cards, function (c) { return !c.hidden; });
      section.hidden = (z && section.getAttribute("data-zone") !== z) || (cards.length > 0 && !any && (t || filtering));
    });
    document.querySelectorAll("article.persona").forEach(function (card) {
      card.hidden = Boolean(p) && voices(card).indexOf(p) < 0;
      card.querySelectorAll(".persona-zone").forEach(function (block) {
        block.hidden = Boolean(z) && block.getAttribute("data-zone") !== z;
      });
    });
    count.textContent = "Showing " + visible + " of " + themes.length + " themes";
  }

  themes.forEach(function (card) {
    card.querySelector("button.more").addEventListener("click", function () {
      var id = card.getAttribute("data-theme");
      shown[id] = (shown[id] || PAGE) + MORE;
      paginate(card, shown[id]);
    });
  });
  [text, zone, theme, person].forEach(function (control) {
    control.addEventListener(control === text ? "input" : "change", apply);
  });
  document.getElementById("filter-clear").addEventListener("click", function () {
    text.value = ""; zone.value = ""; theme.value = ""; person.value = "";
    apply();
  });
  apply();
  document.body.setAttribute("data-ready", "true");
})();
