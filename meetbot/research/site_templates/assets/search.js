// meetbot site search: runs in the browser over assets/search-index.js (no server, no
// network). The index maps accent-folded tokens to pages; a query's pages are those that
// have every token, and when the words follow each other in a text the page ranks first.
(function () {
  "use strict";
  var data = window.MEETBOT_SEARCH || {tokens: {}, pages: []};
  var input = document.getElementById("q");
  var status = document.getElementById("search-status");
  var list = document.getElementById("search-results");
  if (!input || !status || !list) { return; }

  function fold(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }
  function tokens(text) {
    return fold(text).match(/[\p{L}\p{N}_]+/gu) || [];
  }
  function pagesWith(words) {
    var found = null;
    words.forEach(function (word) {
      var these = new Set(data.tokens[word] || []);
      found = found === null ? these : new Set(Array.from(found).filter(function (n) {
        return these.has(n);
      }));
    });
    return found === null ? [] : Array.from(found);
  }
  function bestText(page, words, phrase) {
    var texts = page.texts, i, folded, best = null;
    for (i = 0; i < texts.length; i++) {
      folded = " " + tokens(texts[i]).join(" ") + " ";
      if (folded.indexOf(" " + phrase + " ") >= 0) { return {text: texts[i], phrase: true}; }
      if (best === null && words.some(function (w) { return folded.indexOf(" " + w + " ") >= 0; })) {
        best = texts[i];
      }
    }
    return {text: best || "", phrase: false};
  }
  function say(count) {
    var key = count === 0 ? "none" : count === 1 ? "one" : "many";
    status.textContent = status.dataset[key].replace("{count}", String(count));
  }
  function run() {
    var query = input.value.trim();
    var words = tokens(query);
    list.textContent = "";
    if (!words.length) { status.textContent = ""; return; }
    var phrase = words.join(" ");
    var hits = pagesWith(words).map(function (n) {
      var page = data.pages[n];
      return {page: page, best: bestText(page, words, phrase)};
    });
    hits.sort(function (a, b) {
      return (b.best.phrase - a.best.phrase) || a.page.title.localeCompare(b.page.title, undefined, {numeric: true});
    });
    hits.forEach(function (hit) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = hit.page.href;
      link.textContent = hit.page.title;
      item.appendChild(link);
      if (hit.best.text) {
        var said = document.createElement("div");
        said.className = "text";
        said.dir = "auto";
        said.textContent = hit.best.text;
        item.appendChild(said);
      }
      list.appendChild(item);
    });
    say(hits.length);
  }
  var asked = new URLSearchParams(window.location.search).get("q");
  if (asked) { input.value = asked; }
  input.addEventListener("input", run);
  input.form.addEventListener("submit", function (event) { event.preventDefault(); run(); });
  run();
}());
