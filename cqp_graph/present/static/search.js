// Suggestions as one types in the menu's search box (templates/base.html.j2), from /api/search.
// ARIA 1.2 combobox pattern: the input (role=combobox) owns a listbox of options; ArrowDown/ArrowUp move
// through them (aria-activedescendant), Enter opens the chosen one (or sends the form: the /search page),
// Escape closes the list. Without JavaScript the form alone works (GET /search).
(function () {
  "use strict";
  const input = document.getElementById("menu-q");
  const list = document.getElementById("menu-q-suggestions");
  const status = document.getElementById("menu-q-status");
  if (!input || !list) return;
  const DELAY = 120; // ms after the last key before asking
  let timer = null;
  let active = -1;
  let asked = "";
  let controller = null;

  function options() { return Array.from(list.querySelectorAll("[role=option]")); }

  function close() {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  }

  function select(index) {
    const items = options();
    items.forEach((item, i) => item.setAttribute("aria-selected", i === index ? "true" : "false"));
    active = index;
    if (index >= 0 && items[index]) {
      input.setAttribute("aria-activedescendant", items[index].id);
      items[index].scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function show(hits) {
    list.textContent = "";
    hits.forEach((hit, i) => {
      const item = document.createElement("li");
      item.id = "menu-q-option-" + i;
      item.setAttribute("role", "option");
      item.setAttribute("aria-selected", "false");
      item.dataset.href = hit.page;
      const strong = document.createElement("b");
      strong.textContent = hit.code ? hit.code + " " : "";
      const kind = document.createElement("span");
      kind.className = "kind";
      kind.textContent = " · " + hit.type_label;
      item.append(strong, document.createTextNode(hit.label), kind);
      item.addEventListener("mousedown", (event) => { event.preventDefault(); go(item); });
      list.appendChild(item);
    });
    const count = hits.length;
    status.textContent = count ? count + (count > 1 ? " suggestions" : " suggestion") +
      " ; flèches haut et bas pour choisir, Entrée pour ouvrir" : "aucune suggestion";
    if (count) {
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      select(-1);
    } else {
      close();
    }
  }

  function go(item) {
    if (item && item.dataset.href) window.location.href = item.dataset.href;
  }

  async function ask() {
    const q = input.value.trim();
    if (q === asked) return;
    asked = q;
    if (!q) { close(); status.textContent = ""; return; }
    if (controller) controller.abort();
    controller = new AbortController();
    try {
      const response = await fetch("/api/search?limit=8&q=" + encodeURIComponent(q),
                                   { signal: controller.signal, headers: { Accept: "application/json" } });
      if (!response.ok) { close(); return; }
      const hits = await response.json();
      if (input.value.trim() === q) show(hits);
    } catch (error) {
      if (error.name !== "AbortError") close();
    }
  }

  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(ask, DELAY);
  });
  input.addEventListener("keydown", (event) => {
    const items = options();
    if (event.key === "ArrowDown") {
      if (list.hidden && items.length) { list.hidden = false; input.setAttribute("aria-expanded", "true"); }
      if (items.length) { select((active + 1) % items.length); event.preventDefault(); }
    } else if (event.key === "ArrowUp") {
      if (items.length && !list.hidden) { select(active <= 0 ? items.length - 1 : active - 1); event.preventDefault(); }
    } else if (event.key === "Enter") {
      if (!list.hidden && active >= 0 && items[active]) { event.preventDefault(); go(items[active]); }
    } else if (event.key === "Escape") {
      if (!list.hidden) { close(); event.preventDefault(); }
    }
  });
  input.addEventListener("blur", () => { setTimeout(close, 150); });
  input.addEventListener("focus", () => { if (options().length && input.value.trim() === asked) {
    list.hidden = false; input.setAttribute("aria-expanded", "true"); } });
})();
