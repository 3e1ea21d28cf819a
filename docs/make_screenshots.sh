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

cd "$root"
"$planner" demo -o "$work/report" >/dev/null
"$planner" frontier scenarios/base.yaml --points 20 -o "$work/frontier"
"$planner" compare scenarios/base.yaml scenarios/budget-cut-10.yaml scenarios/growth-get-help.yaml -o "$work/compare"
"$planner" risk scenarios/base.yaml -o "$work/risk" >/dev/null

# The HTML pages, as a reader first sees them.
for kind in report frontier compare risk; do
    "$chromium" --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$work/profile" \
        --window-size=1200,1600 --screenshot="$shots/$kind-html.png" "file://$work/$kind/$kind.html" 2>/dev/null
done

# The workbooks, as LibreOffice prints them: a sheet with a chart (frontier: page 2, the points; compare: page 3, spend shifts).
for kind_page in frontier:2 compare:3; do
    kind=${kind_page%:*}
    page=${kind_page#*:}
    soffice --headless --norestore "-env:UserInstallation=file://$work/lo" --convert-to pdf --outdir "$work" "$work/$kind/$kind.xlsx"
    pdftoppm -png -r 80 -f "$page" -l "$page" -singlefile "$work/$kind.pdf" "$shots/$kind-xlsx"
done

# The plan's workbook as LibreOffice prints it: the Funded sheet (page 2) and By quarter (page 4).
soffice --headless --norestore "-env:UserInstallation=file://$work/lo" --convert-to pdf --outdir "$work" "$work/report/report.xlsx"
pdftoppm -png -r 100 -f 2 -l 2 -singlefile "$work/report.pdf" "$shots/report-xlsx-funded"
pdftoppm -png -r 100 -f 4 -l 4 -singlefile "$work/report.pdf" "$shots/report-xlsx-by-quarter"

# The quarterly report's "what changed" page as it prints (A4, page 2) after the two-quarter story.
"$planner" plan scenarios/q1-plan.yaml -o "$work/q1" >/dev/null
"$planner" roll "$work/q1/plan.json" scenarios/q2-roll.yaml -o "$work/q2" >/dev/null
"$chromium" --headless --no-sandbox --disable-gpu --user-data-dir="$work/profile" --no-pdf-header-footer \
    --print-to-pdf="$work/q2.pdf" "file://$work/q2/report.html" 2>/dev/null
pdftoppm -png -r 80 -f 2 -l 2 -singlefile "$work/q2.pdf" "$shots/quarterly-changes"
# The leadership workspace (planner serve), in the system Chromium through Playwright.
"$root/.venv/bin/python" "$root/docs/serve_screenshot.py"

ls -l "$shots"
