// The leadership workspace (planner serve). Every control edits one what-if (the scenario keys
// as JSON); each edit is re-planned by POST /api/plan, kept for undo and redo, and written to
// the URL (#w=...), so a what-if can be shared and bookmarked. Text from the inputs is only
// ever set as textContent, never as HTML.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("workspace-data").textContent);
  const C = data.controls;
  const record = data.record;
  const pageId = Math.random().toString(36).slice(2) + Date.now().toString(36);
  const $ = (id) => document.getElementById(id);
  let whatIf = {};
  let past = [{}];
  let at = 0;
  let sequence = 0;
  let current = record;
  let frontierWatch = null;

  // ---- formatting -------------------------------------------------------------------
  // As planner.core.formatting.money words it in every report: €8.75m, €450k, −€17k.
  function money(value) {
    if (value === null || value === undefined || !isFinite(value)) return "–";
    const size = Math.abs(value);
    const sign = value < 0 ? "−" : "";
    if (size < 1e3) return sign + C.currency_symbol + Math.round(size).toLocaleString("en-GB");
    const [limit, suffix] = size >= 1e9 ? [1e9, "bn"] : size >= 1e6 ? [1e6, "m"] : [1e3, "k"];
    const scaled = size / limit;
    return sign + C.currency_symbol + scaled.toFixed(scaled < 10 ? 2 : scaled < 100 ? 1 : 0) + suffix;
  }
  function signedMoney(value) { return (value > 0 ? "+" : "") + money(value); }
  function change(pct) { return pct === 0 ? null : (pct > 0 ? "+" : "") + pct + "%"; }
  function percentOf(value) {  // a scenario change ("-10%", 0.9) as a percentage change
    if (typeof value === "number") return Math.round((value - 1) * 100);
    const match = /^\s*([+-]\d+(?:\.\d+)?)\s*%\s*$/.exec(String(value || ""));
    return match ? Number(match[1]) : 0;
  }
  function niceStep(size) {  // 1, 2 or 5 times a power of ten: slider stops at round amounts
    const power = Math.pow(10, Math.floor(Math.log10(Math.max(size, 1))));
    return [1, 2, 5, 10].map((m) => m * power).find((step) => step >= size) || power;
  }
  function clone(value) { return JSON.parse(JSON.stringify(value)); }
  function same(a, b) { return JSON.stringify(a) === JSON.stringify(b); }
  function el(tag, attributes, text) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function choice(experience) {
    if (!experience || !experience.funded) return "not funded";
    return experience.option + " from " + experience.start_quarter;
  }

  // ---- reading the what-if back into the controls ------------------------------------
  function budgetOf(w) {
    const budget = w.budget;
    if (budget === undefined || budget === null) return {};
    if (typeof budget !== "object" || Array.isArray(budget)) return { change: budget };
    return budget;
  }
  function totalOf(w) {
    const budget = budgetOf(w);
    if (typeof budget.total === "number") return budget.total;
    if (budget.change !== undefined) return C.total_budget * (1 + percentOf(budget.change) / 100);
    if (typeof budget.total === "string") return C.total_budget * (1 + percentOf(budget.total) / 100);
    return C.total_budget;
  }
  function quarterOf(w, q) {
    const budget = budgetOf(w);
    const per = budget.per_quarter;
    if (per && typeof per === "object" && !Array.isArray(per) && typeof per[C.quarters[q]] === "number") return per[C.quarters[q]];
    if (budget.change !== undefined) return C.budget[q] * (1 + percentOf(budget.change) / 100);
    return C.budget[q];
  }
  function adjustment(w, key, value) {
    return (w.adjust || []).find((a) => a && a.where && Object.keys(a.where).length === 1 && a.where[key] === value);
  }
  function forcedList(w, key) { return w[key] !== undefined ? w[key] : C[key]; }
  function rulesOf(w) { return w.balance !== undefined ? w.balance : C.balance; }

  // ---- editing -------------------------------------------------------------------------
  function edit(change_) {
    const next = clone(whatIf);
    change_(next);
    tidy(next);
    if (!same(next, whatIf)) commit(next);
  }
  function tidy(w) {
    if (w.budget && typeof w.budget === "object") {
      if (w.budget.per_quarter && !Object.keys(w.budget.per_quarter).length) delete w.budget.per_quarter;
      if (!Object.keys(w.budget).length) delete w.budget;
    }
    if (w.capacity && !Object.keys(w.capacity).length) delete w.capacity;
    if (w.adjust) {
      w.adjust = w.adjust.filter((a) => ["uplift", "reach", "cost", "value"].some((k) => a[k] !== undefined));
      if (!w.adjust.length) delete w.adjust;
    }
    for (const key of ["forced_in", "forced_out", "balance"]) {
      if (w[key] !== undefined && same(w[key], C[key])) delete w[key];
    }
  }
  function commit(next) {
    past = past.slice(0, at + 1);
    past.push(clone(next));
    at = past.length - 1;
    show(next);
  }
  function show(next) {
    whatIf = clone(next);
    const hash = Object.keys(whatIf).length ? "#w=" + encodeURIComponent(JSON.stringify(whatIf)) : " ";
    history.replaceState(null, "", hash === " " ? location.pathname : hash);
    $("undo").disabled = at === 0;
    $("redo").disabled = at === past.length - 1;
    $("what-if-json").textContent = JSON.stringify(whatIf, null, 1);
    syncControls();
    replan();
  }
  function setBudgetTotal(value) {
    edit((w) => {
      const budget = budgetOf(w);
      w.budget = typeof w.budget === "object" && w.budget !== null ? w.budget : {};
      if (budget.change !== undefined) {  // a change of every quarter becomes the quarters' amounts
        w.budget.per_quarter = Object.fromEntries(C.quarters.map((label, q) => [label, Math.round(quarterOf({ budget: budget }, q))]));
        delete w.budget.change;
      }
      if (Math.abs(value - C.total_budget) < 1) delete w.budget.total; else w.budget.total = value;
    });
  }
  function setQuarter(q, value) {
    edit((w) => {
      const budget = budgetOf(w);
      const per = {};
      C.quarters.forEach((label, i) => { const amount = Math.round(quarterOf(w, i)); if (Math.abs(amount - C.budget[i]) >= 1) per[label] = amount; });
      if (Math.abs(value - C.budget[q]) < 1) delete per[C.quarters[q]]; else per[C.quarters[q]] = value;
      w.budget = {};
      if (budget.total !== undefined) w.budget.total = budget.total;
      else if (budget.change !== undefined) w.budget.total = Math.round(totalOf({ budget: budget }));
      w.budget.per_quarter = per;
    });
  }
  function setCapacity(team, pct) {
    edit((w) => {
      w.capacity = w.capacity || {};
      if (change(pct) === null) delete w.capacity[team]; else w.capacity[team] = change(pct);
    });
  }
  function setAdjust(key, value, factor, pct) {
    edit((w) => {
      w.adjust = w.adjust || [];
      let entry = adjustment(w, key, value);
      if (!entry) { entry = { where: { [key]: value } }; w.adjust.push(entry); }
      if (change(pct) === null) delete entry[factor]; else entry[factor] = change(pct);
    });
  }
  function setForce(id, how) {
    edit((w) => {
      const key = (x) => String(x).toLowerCase();
      const forcedIn = forcedList(w, "forced_in").filter((x) => key(x) !== key(id));
      const forcedOut = forcedList(w, "forced_out").filter((x) => key(x) !== key(id));
      if (how === "in") forcedIn.push(id);
      if (how === "out") forcedOut.push(id);
      w.forced_in = forcedIn;
      w.forced_out = forcedOut;
    });
  }
  const knownRules = clone(C.balance);
  function ruleLabel(rule) {
    const dimension = Object.keys(rule).find((k) => k !== "min_share" && k !== "max_share");
    const parts = [];
    if (rule.min_share !== undefined) parts.push("at least " + Math.round(rule.min_share * 100) + "%");
    if (rule.max_share !== undefined) parts.push("at most " + Math.round(rule.max_share * 100) + "%");
    return parts.join(" and ") + " of spend on " + dimension.replace("_", " ") + " " + rule[dimension];
  }
  function setRule(index, on) {
    edit((w) => {
      const active = rulesOf(w).filter((rule) => !same(rule, knownRules[index]));
      if (on) active.push(knownRules[index]);
      w.balance = knownRules.filter((rule) => active.some((a) => same(a, rule)));
    });
  }

  // ---- the controls ----------------------------------------------------------------------
  function slider(container, label, min, max, step, onChange, format) {
    const wrap = el("label", {}, label + " ");
    const output = el("output");
    const input = el("input", { type: "range", min: String(min), max: String(max), step: String(step) });
    input.addEventListener("input", () => { output.textContent = format(Number(input.value)); });
    input.addEventListener("change", () => onChange(Number(input.value)));
    wrap.append(output, input);
    container.append(wrap);
    return { input: input, set: (value) => { input.value = String(value); output.textContent = format(Number(input.value)); } };
  }
  const pctText = (pct) => (pct > 0 ? "+" : "") + pct + "%";
  const controls = { quarters: [], teams: [], stages: [], rules: [], rows: {} };

  function buildControls() {
    const total = $("budget-total");
    const step = niceStep(C.total_budget / 200);
    Object.assign(total, { min: "0", max: String(Math.round(C.total_budget * 2)), step: String(step) });
    total.addEventListener("input", () => { $("budget-total-out").textContent = money(Number(total.value)); });
    total.addEventListener("change", () => setBudgetTotal(Number(total.value)));
    C.quarters.forEach((label, q) => {
      const s = slider($("budget-quarters"), label, 0, Math.round(C.budget[q] * 2), niceStep(C.budget[q] / 100),
        (value) => setQuarter(q, value), money);
      s.input.id = "budget-" + label;
      controls.quarters.push(s);
    });
    C.teams.forEach((team) => {
      const s = slider($("capacity"), team.name, -50, 100, 5, (pct) => setCapacity(team.name, pct), pctText);
      s.input.dataset.team = team.name;
      controls.teams.push(s);
    });
    C.journey_stages.forEach((stage) => {
      const box = el("div", { class: "pair" });
      const uplift = slider(box, stage + " uplift", -50, 50, 5, (pct) => setAdjust("journey_stage", stage, "uplift", pct), pctText);
      const reach = slider(box, "reach", -50, 50, 5, (pct) => setAdjust("journey_stage", stage, "reach", pct), pctText);
      uplift.input.dataset.stage = stage;
      reach.input.dataset.stage = stage;
      $("stages").append(box);
      controls.stages.push({ stage: stage, uplift: uplift, reach: reach });
    });
    const dimension = $("rule-dimension");
    for (const name of Object.keys(C.dimensions)) dimension.append(el("option", { value: name }, name.replace("_", " ")));
    const fillValues = () => {
      $("rule-value").replaceChildren(...C.dimensions[dimension.value].map((v) => el("option", { value: v }, v)));
    };
    dimension.addEventListener("change", fillValues);
    fillValues();
    $("rule-add").addEventListener("click", () => {
      const rule = { [dimension.value]: $("rule-value").value, [$("rule-kind").value]: Number($("rule-share").value) / 100 };
      if (!knownRules.some((r) => same(r, rule))) knownRules.push(rule);
      buildRules();
      setRule(knownRules.findIndex((r) => same(r, rule)), true);
    });
    const body = document.querySelector("#experiences tbody");
    for (const e of C.experiences) {
      const row = el("tr", { "data-id": e.id });
      const cells = {};
      for (const name of ["id", "name", "stage", "record", "whatif", "npv", "change", "why", "force", "uplift", "reach"]) {
        cells[name] = el("td", { class: name === "npv" ? "num" : name });
        row.append(cells[name]);
      }
      cells.id.textContent = e.id;
      cells.name.textContent = e.name;
      cells.stage.textContent = e.journey_stage;
      const force = el("select", { "aria-label": "force " + e.id });
      force.append(el("option", { value: "" }, "optimiser decides"), el("option", { value: "in" }, "force in"), el("option", { value: "out" }, "force out"));
      force.addEventListener("change", () => setForce(e.id, force.value));
      cells.force.append(force);
      const uplift = el("input", { type: "number", step: "5", min: "-100", max: "200", value: "0", "aria-label": "uplift change of " + e.id });
      uplift.addEventListener("change", () => setAdjust("id", e.id, "uplift", Math.round(Number(uplift.value) || 0)));
      cells.uplift.append(uplift, document.createTextNode("%"));
      const reach = el("input", { type: "number", step: "5", min: "-100", max: "200", value: "0", "aria-label": "reach change of " + e.id });
      reach.addEventListener("change", () => setAdjust("id", e.id, "reach", Math.round(Number(reach.value) || 0)));
      cells.reach.append(reach, document.createTextNode("%"));
      body.append(row);
      controls.rows[e.id] = { row: row, cells: cells, force: force, uplift: uplift, reach: reach };
    }
    buildRules();
  }
  function buildRules() {
    for (const rule of rulesOf(whatIf)) if (!knownRules.some((r) => same(r, rule))) knownRules.push(rule);
    const box = $("balance");
    box.replaceChildren();
    if (!knownRules.length) box.append(el("p", { class: "note" }, "The scenario has no balance rules; add one below."));
    controls.rules = knownRules.map((rule, index) => {
      const label = el("label");
      const check = el("input", { type: "checkbox" });
      check.addEventListener("change", () => setRule(index, check.checked));
      label.append(check, document.createTextNode(" " + ruleLabel(rule)));
      box.append(label);
      return check;
    });
  }
  function syncControls() {
    const total = $("budget-total");
    total.value = String(Math.round(totalOf(whatIf)));
    $("budget-total-out").textContent = money(Number(total.value));
    controls.quarters.forEach((s, q) => s.set(Math.round(quarterOf(whatIf, q))));
    const capacity = whatIf.capacity || {};
    controls.teams.forEach((s, i) => s.set(percentOf(capacity[C.teams[i].name])));
    for (const s of controls.stages) {
      const entry = adjustment(whatIf, "journey_stage", s.stage) || {};
      s.uplift.set(percentOf(entry.uplift));
      s.reach.set(percentOf(entry.reach));
    }
    buildRules();
    const active = rulesOf(whatIf);
    controls.rules.forEach((check, index) => { check.checked = active.some((r) => same(r, knownRules[index])); });
    const key = (x) => String(x).toLowerCase();
    const forcedIn = forcedList(whatIf, "forced_in").map(key);
    const forcedOut = forcedList(whatIf, "forced_out").map(key);
    for (const [id, row] of Object.entries(controls.rows)) {
      row.force.value = forcedIn.includes(key(id)) ? "in" : forcedOut.includes(key(id)) ? "out" : "";
      const own = adjustment(whatIf, "id", id) || {};
      row.uplift.value = String(percentOf(own.uplift));
      row.reach.value = String(percentOf(own.reach));
    }
  }

  // ---- planning --------------------------------------------------------------------------
  function post(path, body) {
    return fetch(path, { method: "POST", headers: { "Content-Type": "application/json", "X-Planner-Page": pageId },
      body: JSON.stringify(body), credentials: "same-origin" });
  }
  function showErrors(errors) {
    const box = $("errors");
    box.replaceChildren(...(errors || []).map((e) => el("div", {}, (e.where ? e.where + ": " : "") + e.message)));
    box.hidden = !errors || !errors.length;
  }
  function busy(on, text) {
    $("progress").classList.toggle("busy", on);
    $("progress-text").textContent = text;
    if (!on) $("progress-fill").style.width = "0";
    document.body.dataset.busy = on ? "1" : "0";
  }
  async function watchProgress(mine) {
    while (mine === sequence) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      if (mine !== sequence || document.body.dataset.busy !== "1") return;
      try {
        const p = await (await fetch("/api/progress?page=" + encodeURIComponent(pageId), { credentials: "same-origin" })).json();
        if (mine !== sequence || document.body.dataset.busy !== "1") return;
        if (p.state === "queued") $("progress-text").textContent = "waiting for a solver (" + p.ahead + " ahead), " + p.seconds.toFixed(1) + " s";
        if (p.state === "solving") {
          $("progress-text").textContent = "re-optimising… " + p.seconds.toFixed(1) + " s (limit " + p.time_limit + " s)";
          $("progress-fill").style.width = Math.min(100, 100 * p.seconds / p.time_limit) + "%";
        }
      } catch (error) { /* the answer itself will say what went wrong */ }
    }
  }
  async function replan() {
    const mine = ++sequence;
    busy(true, "re-optimising…");
    watchProgress(mine);
    let response, body;
    try {
      response = await post("/api/plan", whatIf);
      body = await response.json();
    } catch (error) {
      if (mine === sequence) { busy(false, "no answer"); showErrors([{ where: "", message: String(error) }]); }
      return;
    }
    if (mine !== sequence || body.cancelled) return;  // a newer what-if is on its way
    if (!response.ok) {
      busy(false, "not planned");
      showErrors(body.errors);
      document.body.dataset.state = "error";
      return;
    }
    showErrors([]);
    render(body);
    busy(false, "planned in " + body.status.seconds.toFixed(1) + " s");
    document.body.dataset.state = "planned";
    document.body.dataset.sequence = String(mine);
  }
  function render(doc) {
    current = doc;
    const npvDelta = doc.totals.npv - record.totals.npv;
    const spendDelta = doc.totals.spend - record.totals.spend;
    $("npv").textContent = money(doc.totals.npv);
    $("npv-delta").textContent = Math.abs(npvDelta) < 0.5 ? "as the plan of record" : signedMoney(npvDelta) + " against the plan of record";
    $("npv-delta").className = "delta " + (npvDelta > 0.5 ? "up" : npvDelta < -0.5 ? "down" : "");
    const u = doc.uncertainty;
    $("npv-range").textContent = u && u.draws ? "P10 " + money(u.p10) + " to P90 " + money(u.p90) + " over " + u.draws + " draws of the estimates" : "";
    $("spend").textContent = money(doc.totals.spend);
    $("spend-delta").textContent = "of " + money(totalOf(whatIf)) + (Math.abs(spendDelta) < 0.5 ? "" : "; " + signedMoney(spendDelta));
    $("funded").textContent = doc.experiences.filter((e) => e.funded).length + " of " + doc.experiences.length;
    $("changed-count").textContent = doc.changes.length ? doc.changes.length + " changed" : "no change";
    $("status").textContent = doc.status.proven_optimal ? "proven optimal" : doc.status.status;
    $("status").className = "value " + (doc.status.proven_optimal ? "status-optimal" : "status-other");
    $("status-text").textContent = doc.status.text;
    const changes = Object.fromEntries(doc.changes.map((c) => [c.id, c]));
    const before = Object.fromEntries(record.experiences.map((e) => [e.id, e]));
    const body = document.querySelector("#experiences tbody");  // changed rows first (entered, left, moved), then the workbook's order
    const order = doc.changes.map((c) => c.id).concat(C.experiences.map((e) => e.id).filter((id) => !changes[id]));
    body.append(...order.filter((id) => controls.rows[id]).map((id) => controls.rows[id].row));
    for (const e of doc.experiences) {
      const row = controls.rows[e.id];
      if (!row) continue;
      const c = changes[e.id];
      row.row.className = c ? c.change : "";
      row.cells.record.textContent = choice(before[e.id]);
      row.cells.whatif.textContent = choice(e);
      row.cells.npv.textContent = e.funded ? money(e.npv) : "";
      row.cells.change.textContent = c ? c.change : "";
      row.cells.why.textContent = c ? c.reason : (e.funded ? "" : e.reason);
    }
    renderFrontier(doc.frontier);
  }
  function renderFrontier(f) {
    const chart = $("frontier-chart");
    chart.replaceChildren();
    if (!f.ready) {
      $("frontier-text").textContent = f.error ? "no frontier: " + f.error : "solving the frontier…";
      if (!f.error && !frontierWatch) frontierWatch = setInterval(checkFrontier, 2000);
      return;
    }
    $("frontier-text").textContent = f.frontier_npv === null
      ? "budget " + money(f.budget) + " is below the frontier's lowest budget"
      : "at a budget of " + money(f.budget) + " the best NPV on the plan of record's frontier is " + money(f.frontier_npv)
        + (f.below_frontier > 0.5 ? "; this what-if is " + money(f.below_frontier) + " below it (its other changes)" : "; this plan is on it");
    const points = f.points;
    if (!points.length) return;
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("class", "frontier");
    svg.setAttribute("viewBox", "0 0 300 60");
    svg.setAttribute("preserveAspectRatio", "none");
    const xs = points.map((p) => p.budget).concat([f.budget]);
    const ys = points.map((p) => p.npv).concat([f.npv]);
    const x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys), y1 = Math.max(...ys);
    const x = (v) => 4 + 292 * (v - x0) / ((x1 - x0) || 1);
    const y = (v) => 56 - 52 * (v - y0) / ((y1 - y0) || 1);
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("points", points.map((p) => x(p.budget).toFixed(1) + "," + y(p.npv).toFixed(1)).join(" "));
    line.setAttribute("fill", "none");
    line.setAttribute("stroke", "#1f3a5f");
    line.setAttribute("stroke-width", "1.5");
    const dot = document.createElementNS(ns, "circle");
    Object.entries({ cx: x(f.budget), cy: y(f.npv), r: 4, fill: "#c0392b" }).forEach(([k, v]) => dot.setAttribute(k, String(v)));
    const title = document.createElementNS(ns, "title");
    title.textContent = "this what-if: budget " + money(f.budget) + ", NPV " + money(f.npv);
    dot.append(title);
    svg.append(line, dot);
    chart.append(svg);
  }
  async function checkFrontier() {
    try {
      const info = await (await fetch("/api/workspace", { credentials: "same-origin" })).json();
      if (info.frontier_ready) { clearInterval(frontierWatch); frontierWatch = null; replan(); }
    } catch (error) { /* try again on the next tick */ }
  }

  // ---- downloads, undo, redo -------------------------------------------------------------
  async function download(path, name) {
    busy(true, "preparing " + name + "…");
    const response = await post(path, whatIf);
    if (!response.ok) {
      busy(false, name + " not made");
      showErrors((await response.json()).errors);
      return;
    }
    const url = URL.createObjectURL(await response.blob());
    const link = el("a", { href: url, download: name });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    busy(false, "downloaded " + name);
  }
  $("undo").addEventListener("click", () => { if (at > 0) { at -= 1; show(past[at]); } });
  $("redo").addEventListener("click", () => { if (at < past.length - 1) { at += 1; show(past[at]); } });
  $("reset").addEventListener("click", () => { if (Object.keys(whatIf).length) commit({}); });
  $("save").addEventListener("click", () => download("/api/scenario", "what-if.yaml"));
  $("download-html").addEventListener("click", () => download("/api/report/html", "report.html"));
  $("download-xlsx").addEventListener("click", () => download("/api/report/xlsx", "report.xlsx"));

  // ---- start ------------------------------------------------------------------------------
  buildControls();
  render(record);
  syncControls();
  document.body.dataset.state = "planned";
  document.body.dataset.busy = "0";
  document.body.dataset.sequence = "0";
  function fromAddress() {  // a what-if pasted or bookmarked into the address: plan it
    const found = /^#w=(.*)$/.exec(location.hash);
    if (!found) return;
    try {
      const wanted = JSON.parse(decodeURIComponent(found[1]));
      if (!same(wanted, whatIf)) commit(wanted);
    } catch (error) {
      showErrors([{ where: "the address", message: "holds no what-if I can read" }]);
      document.body.dataset.state = "error";
    }
  }
  window.addEventListener("hashchange", fromAddress);
  fromAddress();
})();
