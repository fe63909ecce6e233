// The book's figures on the page: dark mode, an accessible name and description,
// keyboard control of every explorable's slider, and a width that fits a phone.
// Plotly figures are drawn by the divs MyST-NB writes; this runs once they exist.
"use strict";

(() => {
  // dlbook-templates.js is deferred, like plotly.js: read it when a figure needs it.
  const templates = () => window.DLBOOK_TEMPLATES || {};
  const figures = () => [...document.querySelectorAll(".js-plotly-plot")];
  const theme = () => document.documentElement.dataset.theme === "dark" ? "dark" : "light";

  // The theme button cycles light -> dark (and back). pydata-sphinx-theme's own cycle goes
  // through "auto" first, which on a light system changes nothing a reader can see.
  function setMode(mode) {
    document.documentElement.dataset.mode = mode;
    document.documentElement.dataset.theme = mode;
    localStorage.setItem("mode", mode);
    localStorage.setItem("theme", mode);
  }
  function toggleTheme(event) {
    event.preventDefault();
    event.stopImmediatePropagation();
    setMode(theme() === "dark" ? "light" : "dark");
  }

  function applyTemplate(gd) {
    const template = templates()[theme()];
    if (template && gd.layout && gd._dlbookTheme !== theme()) {
      gd._dlbookTheme = theme();
      window.Plotly.relayout(gd, { template });
    }
  }

  // A name (the title) and a description (the "What to notice" text after the figure).
  function describe(gd, index) {
    const box = gd.closest(".cell_output, .output") || gd;
    const title = ((gd.layout.title && gd.layout.title.text) || "").replace(/<[^>]+>/g, " ");
    const sliders = (gd.layout.sliders || []).length;
    box.setAttribute("role", "figure");
    box.setAttribute("aria-label", (sliders ? "Explorable figure: " : "Figure: ") +
      (title.trim() || "untitled"));
    const cell = gd.closest(".cell");
    let next = cell && cell.nextElementSibling;
    while (next && next.classList.contains("cell") && next.textContent.trim() === "") {
      next = next.nextElementSibling;
    }
    if (next && /^(What to notice|Read)/.test(next.textContent.trim())) {
      next.id = next.id || `dlbook-figure-notes-${index}`;
      box.setAttribute("aria-describedby", next.id);
    }
  }

  // A native range input drives the figure's plotly slider, so the keyboard can move it.
  function keyboardSlider(gd, index) {
    const slider = (gd.layout.sliders || [])[0];
    if (!slider || gd.parentElement.querySelector(".dlbook-range")) return;
    const prefix = ((slider.currentvalue && slider.currentvalue.prefix) || "value").trim();
    const range = document.createElement("input");
    Object.assign(range, {
      type: "range", min: 0, max: slider.steps.length - 1, step: 1,
      value: slider.active || 0, className: "dlbook-range",
    });
    range.setAttribute("aria-label", `${prefix.replace(/=$/, "").trim()}: move with the arrow keys`);
    const label = (i) => slider.steps[i].args[0][0];  // the frame's name: knobs and values
    range.setAttribute("aria-valuetext", label(range.value));
    range.addEventListener("input", () => {
      const step = slider.steps[range.value];
      range.setAttribute("aria-valuetext", label(range.value));
      window.Plotly.animate(gd, step.args[0], step.args[1]);
      window.Plotly.relayout(gd, { "sliders[0].active": Number(range.value) });
    });
    gd.on("plotly_sliderchange", (event) => {
      range.value = event.step._index;
      range.setAttribute("aria-valuetext", label(range.value));
    });
    gd.parentElement.insertBefore(range, gd.nextSibling);
  }

  // Figures with a fixed width wider than the column shrink to it (phones), and again
  // whenever the column narrows later (a scrollbar appears, the window is resized).
  const columnOf = (gd) => gd.closest(".cell_output, .output, .bd-article") || gd.parentElement;
  function fitWidth(gd) {
    const column = columnOf(gd);
    const style = getComputedStyle(column);
    const room = Math.floor(column.clientWidth - parseFloat(style.paddingLeft) -
      parseFloat(style.paddingRight));
    if (gd.layout.width && room > 0 && gd.layout.width > room) {
      gd.style.width = `${room}px`;  // the div keeps the width plotly.py wrote into its style
      window.Plotly.relayout(gd, { width: room });
    }
  }
  const refit = new ResizeObserver(() => figures().forEach((gd) => {
    fitWidth(gd);
    fitTitle(gd);
  }));

  // On a phone a legend at plotly's default place, right of the plot, would squeeze the
  // plot to a strip: it goes below the figure, in rows, and the figure grows to hold it.
  const PHONE_PX = 500;
  function fitLegend(gd) {
    const layout = gd._fullLayout;
    const written = gd.layout.legend || {};
    if (!layout || !layout.showlegend || gd.clientWidth >= PHONE_PX || gd._dlbookLegend ||
        written.x !== undefined || written.y !== undefined || written.orientation) return;
    const items = [...gd.querySelectorAll(".legend .traces")];
    if (!items.length) return;
    gd._dlbookLegend = true;
    const widest = Math.max(...items.map((item) => item.getBBox().width));
    const perRow = Math.max(1, Math.floor((gd.clientWidth - 20) / (widest + 10)));
    const extra = Math.ceil(items.length / perRow) * 20 + 10;
    const box = gd.parentElement;  // plotly.py fixes its height in pixels
    if (box.style.height.endsWith("px")) box.style.height = `${layout.height + extra}px`;
    window.Plotly.relayout(gd, {
      "legend.orientation": "h", "legend.x": 0, "legend.xanchor": "left",
      "legend.yref": "container", "legend.y": 0, "legend.yanchor": "bottom",
      "margin.b": layout.margin.b + extra, height: layout.height + extra,
    });
  }

  // Subplot titles (make_subplots writes them as annotations above each panel) that are
  // wider than their panel, as on a phone, shrink to fit it, down to 8 px.
  const isSubplotTitle = (a) => a.showarrow === false && a.xref === "paper" &&
    a.yref === "paper" && a.yanchor === "bottom" && a.xanchor === "center";
  function panelWidth(gd, x) {
    const layout = gd._fullLayout;
    const widths = Object.keys(layout).filter((key) => /^xaxis\d*$/.test(key))
      .map((key) => layout[key].domain)
      .filter(([a, b]) => Math.abs((a + b) / 2 - x) < 0.01)
      .map(([a, b]) => (b - a) * layout._size.w);
    return widths.length ? Math.min(...widths) : null;
  }
  function fitSubplotTitles(gd) {
    const annotations = gd.layout.annotations || [];
    const update = {};
    gd.querySelectorAll(".annotation").forEach((node) => {
      const index = Number(node.dataset.index);
      const annotation = annotations[index];
      if (!annotation || !isSubplotTitle(annotation)) return;
      const room = panelWidth(gd, annotation.x);
      const width = node.getBoundingClientRect().width;
      const size = gd._fullLayout.annotations[index].font.size;
      if (room && width > room + 2) {
        update[`annotations[${index}].font.size`] = Math.max(8, Math.floor(size * room / width));
      }
    });
    if (Object.keys(update).length) window.Plotly.relayout(gd, update);
  }

  // A title longer than the figure is wide (a phone) wraps onto more lines, and the top
  // margin grows to hold them. An explorable's frame brings its own title: fit it again.
  const TITLE_CHAR_PX = 9;  // about one character of plotly's 17 px title font
  function wrapWords(text, chars) {
    const lines = [];
    for (const word of text.split(" ")) {
      const last = lines.length ? lines[lines.length - 1] : null;
      if (last !== null && (last + " " + word).length <= chars) {
        lines[lines.length - 1] = last + " " + word;
      } else {
        lines.push(word);
      }
    }
    return lines;
  }
  function fitTitle(gd) {
    const text = (gd.layout.title && gd.layout.title.text) || "";
    if (!text || !gd._fullLayout) return;
    if (gd._dlbookTop === undefined) {
      gd._dlbookTop = gd._fullLayout.margin.t;
      gd._dlbookLines = text.split(/<br>/i).length;
    }
    const chars = Math.max(16, Math.floor(gd.clientWidth / TITLE_CHAR_PX) - 4);
    const lines = wrapWords(text.replace(/<br>/gi, " "), chars);
    const fitted = lines.length > gd._dlbookLines ? lines.join("<br>") : text;
    const top = gd._dlbookTop + 22 * Math.max(0, lines.length - gd._dlbookLines);
    if (fitted !== text || top !== gd._fullLayout.margin.t) {
      window.Plotly.relayout(gd, { "title.text": fitted, "margin.t": top });
    }
  }

  // Code and tables that scroll sideways must be reachable by keyboard.
  function focusableScrollers() {
    const scrollers = "div.highlight pre, .cell_output pre, .pst-scrollable-table-container";
    document.querySelectorAll(scrollers).forEach((pre) => {
      if (pre.scrollWidth > pre.clientWidth && !pre.hasAttribute("tabindex")) {
        pre.setAttribute("tabindex", "0");
      }
    });
  }

  // Controls named differently from what they show (the theme's "Search" button shows
  // "Search Ctrl+K", MyST-NB's "Toggle hidden content" shows "Show code cell source"):
  // a speech user says what is shown, so the name must contain it (WCAG 2.5.3).
  function nameWhatIsShown() {
    document.querySelectorAll("button[aria-label], summary[aria-label]").forEach((control) => {
      const shown = control.textContent.replace(/\s+/g, " ").trim();
      const name = control.getAttribute("aria-label");
      if (shown && !name.toLowerCase().includes(shown.toLowerCase())) {
        control.setAttribute("aria-label", shown);
      }
    });
  }

  function setUp() {
    nameWhatIsShown();
    document.querySelectorAll(".theme-switch-button").forEach((button) => {
      button.addEventListener("click", toggleTheme, true);
    });
    figures().forEach((gd, i) => {
      describe(gd, i);
      keyboardSlider(gd, i);
      fitWidth(gd);
      fitTitle(gd);
      fitLegend(gd);
      fitSubplotTitles(gd);
      gd.on("plotly_animated", () => fitTitle(gd));
      refit.observe(columnOf(gd));
      applyTemplate(gd);
    });
    focusableScrollers();
    new MutationObserver(() => figures().forEach(applyTemplate)).observe(
      document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
  }

  // Plotly draws each div from an inline script as the page loads; wait for all of them
  // (at most ten seconds).
  window.addEventListener("load", () => {
    const pending = () => document.querySelectorAll(".plotly-graph-div:not(.js-plotly-plot)");
    const start = Date.now();
    const wait = setInterval(() => {
      if (pending().length === 0 || Date.now() - start > 10000) {
        clearInterval(wait);
        setUp();
      }
    }, 50);
  });
})();
