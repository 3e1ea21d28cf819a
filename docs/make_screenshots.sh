#!/bin/sh
# Rebuild the screenshots of the plan, what-if and quarterly reports in docs/screenshots/ from the bundled example.
#
#   docs/make_screenshots.sh            (from the repository root; needs chromium, soffice, pdftoppm)
#
# The reports are written to a temporary folder; only the PNGs land in docs/screenshots/.
# PLANNER (default .venv/bin/planner) and CHROMIUM (default chromium) may be overridden.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
planner=${PLANNER:-$root/.venv/bin/planner}
chromium=${CHROMIUM:-chromium}
shots=$root/docs/screenshots
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The number of the first page of a PDF whose text holds $2 (the page a sheet or section starts on moves as reports grow).
page_of() {
    pages=$(pdfinfo "$1" | sed -n 's/^Pages: *//p')
    for page in $(seq 1 "$pages"); do
        if pdftotext -f "$page" -l "$page" "$1" - | grep -q "$2"; then echo "$page"; return; fi
    done
    echo "error: no page of $1 says $2" >&2
    return 1
}

cd "$root"
"$planner" demo -o "$work/report" >/dev/null
# A longer time limit than the scenario's 60 s, so that a busy machine still proves each plan optimal.
"$planner" frontier scenarios/base.yaml --points 20 --time-limit 300 -o "$work/frontier"
"$planner" compare scenarios/base.yaml scenarios/budget-cut-10.yaml scenarios/growth-get-help.yaml --time-limit 300 -o "$work/compare"

# The HTML pages, as a reader first sees them.
for kind in report frontier compare; do
    "$chromium" --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$work/profile" \
        --window-size=1200,1600 --screenshot="$shots/$kind-html.png" "file://$work/$kind/$kind.html" 2>/dev/null
done

# The report's experience view, one section a picture, cropped (docs/section_screenshots.py, in the system Chromium):
# the service blueprint, the enablers with their bundles, the journeys with owners and fragmentation (overlap avoided),
# and spend and NPV by journey stage and channel.
"$root/.venv/bin/python" "$root/docs/section_screenshots.py" "$work/report/report.html" \
    "#blueprint, #blueprint .wide=$shots/report-blueprint.png" \
    "#enablers=$shots/report-enablers.png" \
    "#journeys=$shots/report-journeys.png" \
    "#experience_map h2, #experience_map > p:first-of-type, #experience_map svg:nth-of-type(-n+2)=$shots/report-experience-map.png"

# The workbooks, as LibreOffice prints them: a chart (frontier: NPV against budget, beside the Summary's key
# figures; compare: the spend shifts).
for kind_title in "frontier:NPV at each budget" "compare:Where the spend moves"; do
    kind=${kind_title%%:*}
    title=${kind_title#*:}
    soffice --headless --norestore "-env:UserInstallation=file://$work/lo" --convert-to pdf --outdir "$work" "$work/$kind/$kind.xlsx"
    page=$(page_of "$work/$kind.pdf" "^$title")
    pdftoppm -png -r 80 -f "$page" -l "$page" -singlefile "$work/$kind.pdf" "$shots/$kind-xlsx"
done

# The plan's workbook as LibreOffice prints it: the Funded sheet and By quarter (spend against the budget, its chart).
soffice --headless --norestore "-env:UserInstallation=file://$work/lo" --convert-to pdf --outdir "$work" "$work/report/report.xlsx"
page=$(page_of "$work/report.pdf" "^Funded experiences")
pdftoppm -png -r 100 -f "$page" -l "$page" -singlefile "$work/report.pdf" "$shots/report-xlsx-funded"
page=$(page_of "$work/report.pdf" "^Spend by quarter against the budget")
pdftoppm -png -r 100 -f "$page" -l "$page" -singlefile "$work/report.pdf" "$shots/report-xlsx-by-quarter"

# The quarterly report's "what changed" page as it prints (A4) after the two-quarter story.
"$planner" plan scenarios/q1-plan.yaml -o "$work/q1" >/dev/null
"$planner" roll "$work/q1/plan.json" scenarios/q2-roll.yaml -o "$work/q2" >/dev/null
"$chromium" --headless --no-sandbox --disable-gpu --user-data-dir="$work/profile" --no-pdf-header-footer \
    --print-to-pdf="$work/q2.pdf" "file://$work/q2/report.html" 2>/dev/null
page=$(page_of "$work/q2.pdf" "What changed since the previous plan")
pdftoppm -png -r 110 -f "$page" -l "$page" -singlefile "$work/q2.pdf" "$shots/quarterly-changes"
# Its NPV bridge (waterfall) from the previous plan to this one by cause, on screen.
"$root/.venv/bin/python" "$root/docs/section_screenshots.py" "$work/q2/report.html" "#bridge=$shots/quarterly-bridge.png"
# The leadership workspace (planner serve), in the system Chromium through Playwright.
"$root/.venv/bin/python" "$root/docs/serve_screenshot.py"

# The risk report last (the slowest: Monte Carlo, re-solves and a robust plan).
# The robust plan's solve gets more time than its default 20 s: on a loaded machine it can stop with no plan.
printf 'extends: %s/scenarios/base.yaml\nrobust: {time_limit_seconds: 180}\n' "$root" > "$work/risk.yaml"
# If it still fails, the previous risk-html.png stays, and the script says so.
if "$planner" risk "$work/risk.yaml" -o "$work/risk" >/dev/null; then
    "$chromium" --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$work/profile" \
        --window-size=1200,1600 --screenshot="$shots/risk-html.png" "file://$work/risk/risk.html" 2>/dev/null
else
    echo "warning: planner risk failed; docs/screenshots/risk-html.png NOT regenerated" >&2
fi

ls -l "$shots"
