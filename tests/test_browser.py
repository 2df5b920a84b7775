"""The Space in a real browser: Playwright (from PyPI) driving Debian's Chromium, headless, on
the app launched on a loopback port. A visitor uploads the bundled flowers example, ranks the
models, sees ranked rows and images, then previews the top model's fine-tune (k = 1); the page
fits a 390 px phone; bad inputs each get a clear message and the app answers the next
request. Screenshots are saved under the test's tmp_path.
"""

import re
import socket
from pathlib import Path

import pytest

from mandc.graph.defaults import default_shipped_dir, example_dir
from mandc.graph.matching_graph import MatchingGraph
from mandc.graph.store import load_graph, save_graph
from mandc.settings import get_settings
from mandc.ui.preview import PREVIEW_RECIPE

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at "
                       "/usr/bin/chromium (apt-get install -y chromium)"),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (pip) is not installed")

WAIT_MS = 180_000
"""A cold upload loads the encoders: a minute or more on a busy 2-core machine."""
PREVIEW_WAIT_MS = 900_000
"""A k = 1 preview fine-tunes a mini-zoo model for 10 steps: about 10 s on a busy 2-core machine
(bench/bench_preview.py), allowed far longer when the machine is shared."""
ANSWERED = "best of 11 candidates"
PHONE_LINE = "On a phone held upright the table leaves out"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


HUB_IDS = ["stabilityai/stable-diffusion-xl-base-1.0", "runwayml/stable-diffusion-v1-5",
           "CompVis/stable-diffusion-v1-4", "PixArt-alpha/PixArt-XL-2-1024-MS",
           "black-forest-labs/FLUX.1-schnell", "stabilityai/stable-diffusion-2-1-base",
           "segmind/SSD-1B", "playgroundai/playground-v2.5-1024px-aesthetic",
           "Lykon/dreamshaper-8", "SG161222/Realistic_Vision_V5.1_noVAE",
           "kandinsky-community/kandinsky-2-2-decoder"]
"""Real Hub ids, long and hyphenated, that stand in for the mini-zoo's short names."""


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MANDC_HOME", str(tmp_path_factory.mktemp("mandc_home")))
        patch.setenv("GRADIO_TEMP_DIR", str(tmp_path_factory.mktemp("gradio")))
        get_settings.cache_clear()
        yield
    get_settings.cache_clear()


def _served(graph_dir=None):
    from mandc.ui.app import build_app, launch_options

    app = build_app(graph_dir)
    app.launch(server_name="127.0.0.1", server_port=_free_port(),
               prevent_thread_lock=True, quiet=True, **launch_options())
    return app


@pytest.fixture(scope="module")
def url(home):
    app = _served()
    try:
        yield app.local_url
    finally:
        app.close()


@pytest.fixture(scope="module")
def hub_url(home, tmp_path_factory):
    """The app on the mini-zoo graph with its models renamed to Hub ids and a licence column,
    as a graph of real Hub models reads."""
    graph = load_graph(default_shipped_dir())
    renamed = dict(zip(graph.models["model"], HUB_IDS, strict=True))
    models = graph.models.assign(model=graph.models["model"].map(renamed),
                                 license="creativeml-openrail-m")
    scores = graph.scores.assign(model=graph.scores["model"].map(renamed))
    folder = tmp_path_factory.mktemp("hub-graph") / "graph"
    save_graph(MatchingGraph(models, graph.datasets, scores, graph.similarity, dict(graph.meta)),
               folder)
    app = _served(str(folder))
    try:
        yield app.local_url
    finally:
        app.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=str(CHROMIUM),
            headless=True, args=["--no-sandbox", "--disable-gpu",
                                 "--disable-background-networking"])
        try:
            yield context
        finally:
            context.close()


def _open(browser, url, width, height=900):
    page = browser.new_page()
    page.set_viewport_size({"width": width, "height": height})
    page.goto(url)
    page.get_by_role("button", name="Rank models").wait_for()
    return page


def _upload(page, files):
    page.locator("#files input[type=file]").set_input_files([str(f) for f in files])
    page.wait_for_function(f"document.querySelectorAll('#files tbody tr').length == {len(files)}",
                           timeout=WAIT_MS)


def _rank(page):
    page.get_by_role("button", name="Rank models").click()


def _error_toast(page, text):
    toast = page.locator(".toast-body").filter(has_text=text)
    toast.first.wait_for(timeout=WAIT_MS)
    page.get_by_text("Could not rank models (see the error message)").wait_for()
    page.locator(".toast-close").first.click()


def _ranked_rows(page) -> list[list[str]]:
    """The ranking table's rows as cell texts (Gradio 6 draws them as ARIA grid cells)."""
    page.get_by_text(ANSWERED).first.wait_for(timeout=WAIT_MS)
    page.locator("#ranking [data-testid='cell-0-0']").wait_for(timeout=WAIT_MS)
    return page.evaluate("""() => {
        const rows = {};
        for (const cell of document.querySelectorAll('#ranking [role=gridcell][data-row]')) {
            (rows[cell.dataset.row] ||= [])[+cell.dataset.col] = cell.innerText.trim();
        }
        return Object.keys(rows).sort((a, b) => a - b).map(k => rows[k]);
    }""")


def _shown_images(page, selector) -> int:
    """Images of a gallery that the browser really decoded (scrolled into view first)."""
    gallery = page.locator(selector)
    gallery.scroll_into_view_if_needed()
    gallery.locator("img").first.wait_for(timeout=WAIT_MS)
    page.wait_for_function(f"""() => [...document.querySelectorAll('{selector} img')]
        .every(img => img.complete)""", timeout=WAIT_MS)
    return page.evaluate(f"""() => [...document.querySelectorAll('{selector} img')]
        .filter(img => img.naturalWidth > 0).length""")


def _hidden_in_gallery(page, selector) -> list[str]:
    """Captions of a gallery's images not wholly inside its box and the window, that is, seen
    only after scrolling the gallery itself (an easily missed second row or column)."""
    return page.evaluate(f"""() => {{
        const gallery = document.querySelector('{selector}');
        const box = gallery.querySelector('.grid-wrap').getBoundingClientRect();
        return [...gallery.querySelectorAll('.gallery-item')].filter(item => {{
            const r = item.getBoundingClientRect();
            return r.left < box.left - 1 || r.right > Math.min(box.right, window.innerWidth) + 1
                || r.top < box.top - 1 || r.bottom > box.bottom + 1;
        }}).map(item => item.innerText.trim());
    }}""")


def _cut_cells(page) -> list[str]:
    """The ranking's shown cells whose text runs past their width."""
    return page.evaluate("""() => [...document.querySelectorAll('#ranking [role=gridcell]')]
        .filter(cell => cell.getBoundingClientRect().width > 0)
        .filter(cell => cell.scrollWidth > cell.clientWidth + 1).map(cell => cell.innerText)""")


def _assert_fits_390(page):
    """No sideways scroll of the page, and every table's columns reachable (inside the screen,
    or in a box that scrolls)."""
    fits = page.evaluate("""() => {
        const doc = document.documentElement;
        const pageFits = doc.scrollWidth <= window.innerWidth + 1;
        const tables = [...document.querySelectorAll('table')].map(table => {
            let box = table.parentElement;
            while (box && box.clientWidth >= table.scrollWidth - 1 &&
                   getComputedStyle(box).overflowX === 'visible') box = box.parentElement;
            const reachable = table.scrollWidth <= box.clientWidth + 1 ||
                ['auto', 'scroll'].includes(getComputedStyle(box).overflowX);
            return reachable && box.getBoundingClientRect().right <= window.innerWidth + 1;
        });
        return {pageFits, tables};
    }""")
    assert fits["pageFits"], "the page scrolls sideways at 390 px"
    assert fits["tables"] and all(fits["tables"]), "a table's columns are cut off at 390 px"
    ranking = page.evaluate("""() => {
        const table = document.querySelector('#ranking table');
        let box = table.parentElement;
        const scrolls = el => ['auto', 'scroll'].includes(getComputedStyle(el).overflowX);
        while (!scrolls(box)) box = box.parentElement;
        return {table: table.scrollWidth, box: box.scrollWidth, inside: box.clientWidth};
    }""")
    assert max(ranking["table"], ranking["box"]) <= ranking["inside"] + 1, \
        f"the ranking scrolls sideways at 390 px: {ranking}"
    # nor down inside its own box: the wrapped rows were taller than Gradio's 500 px box, which
    # hid the last rows behind an inner scroll
    inner = page.evaluate("""() => [...document.querySelectorAll('#ranking *')]
        .filter(el => ['auto', 'scroll'].includes(getComputedStyle(el).overflowY))
        .filter(el => el.scrollHeight > el.clientHeight + 1)
        .map(el => [el.className, el.scrollHeight, el.clientHeight])""")
    assert inner == [], f"the ranking scrolls down inside its box at 390 px: {inner}"


def test_a_visitor_uploads_images_and_sees_ranked_models_and_images(browser, url, tmp_path):
    page = _open(browser, url, 1280)
    _upload(page, sorted(example_dir("flowers").iterdir()))
    _rank(page)
    rows = _ranked_rows(page)
    assert [row[0] for row in rows] == [str(k) for k in range(1, 11)]
    assert len({row[1] for row in rows}) == 10
    assert "for upload" in page.get_by_text(ANSWERED).first.inner_text()
    page.get_by_text("How to read the table").wait_for()
    assert _shown_images(page, "#yours") == 6
    assert _shown_images(page, "#reasons") >= 6
    reasons = page.locator("#reasons").inner_text()
    assert "a real image" in reasons and "after fine-tuning (FID" in reasons

    # the prediction with its interval, and the fine-tune cost with its machine
    header = page.locator("#ranking [role=columnheader]").all_inner_texts()
    assert "predicted (80% interval)" in " ".join(header) and "fine-tune (s)" in " ".join(header)
    for row in rows:
        assert re.fullmatch(r"-?\d+\.\d\d \[-?\d+\.\d\d, -?\d+\.\d\d\]", row[2]), row
        assert re.fullmatch(r"\d+(\.\d+)? \((H200|CPU)\)", row[3]), row
    page.get_by_text("the 80% interval").first.wait_for()
    # the plot: a dot and a visible band per candidate
    widths = page.evaluate("""() => [...document.querySelectorAll('#plot line.band')]
        .map(line => line.getBoundingClientRect().width)""")
    assert len(widths) == 11 and all(width > 5 for width in widths)
    assert "80% interval" in page.locator("#plot").text_content()
    # on a desktop every column of the ranking is shown
    shown = page.evaluate("""() => [...document.querySelectorAll('#ranking [role=columnheader]')]
        .map(th => [th.title, th.getBoundingClientRect().width > 20])""")
    assert len(shown) == 6 and all(wide for _, wide in shown), shown
    phone_line = page.get_by_text(PHONE_LINE)  # in the legend, for narrow screens only
    assert phone_line.count() == 1 and not phone_line.is_visible()
    # what was read of the upload, in its own place
    assert page.locator("#load-report").inner_text().startswith("Your dataset: 20 images")

    # the model-card section downloads as a Markdown file
    row = page.locator("#downloads tr").filter(has_text="why-base-model-upload")
    assert "mandc-upload" in page.locator("#downloads").inner_text()  # and the JSON beside it
    link = row.locator("td.download a")
    link.scroll_into_view_if_needed()
    with page.expect_download(timeout=WAIT_MS) as download:
        link.click()
    card = Path(download.value.path()).read_text()
    assert card.startswith("<!-- mandc:why-base-model:start -->\n## Why this base model")
    assert f"`{rows[0][1]}` ranks **#1**" in card
    page.screenshot(path=str(tmp_path / "upload-1280.png"), full_page=True)

    # a k = 1 preview on the same page: the top model briefly fine-tuned, its generations for
    # the first captions beside the real images, and the seconds it took
    page.get_by_text("Preview fine-tunes (slow").click()
    page.get_by_label("Models to preview").first.fill("1")
    page.get_by_role("button", name="Preview fine-tunes", exact=True).click()
    page.wait_for_function("document.querySelectorAll('#preview .caption-label').length == 8",
                           timeout=PREVIEW_WAIT_MS)
    captions = page.locator("#preview .caption-label").all_inner_texts()
    top = rows[0][1]
    assert all(c.startswith("your image: ") for c in captions[:4]), captions
    assert [c.removeprefix(f"{top}: ") for c in captions[4:]] == [
        c.removeprefix("your image: ") for c in captions[:4]], captions
    assert _shown_images(page, "#preview") == 8
    assert _hidden_in_gallery(page, "#preview") == [], "generations hidden in the gallery"
    # the generations are the mini-zoo model's own 32 px images, not copies of the real ones
    sizes = page.evaluate("""() => [...document.querySelectorAll('#preview img')]
        .map(img => img.naturalWidth)""")
    assert sizes[4:] == [32] * 4 and all(size > 32 for size in sizes[:4]), sizes
    summary = page.get_by_text("Preview fine-tunes on").first.locator("xpath=..").inner_text()
    assert f"{PREVIEW_RECIPE.steps} steps on 20 of your images" in summary
    took = re.search(rf"{re.escape(top)}: (\d+(\.\d+)?) s", summary)
    assert took and float(took.group(1)) > 0, summary
    page.screenshot(path=str(tmp_path / "preview-1280.png"), full_page=True)

    # the page with the preview still fits a 390 px phone
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_function("window.innerWidth == 390")
    _assert_fits_390(page)
    phone_line.wait_for()
    assert _hidden_in_gallery(page, "#preview") == [], "preview images cut off at 390 px"
    page.screenshot(path=str(tmp_path / "preview-390.png"), full_page=True)


def test_the_page_fits_a_390px_phone_without_cut_off_columns(browser, url, tmp_path):
    page = _open(browser, url, 390, 844)
    page.get_by_label("…or pick a profiled dataset of the graph").click()
    page.get_by_role("option", name="scenes-day", exact=True).click()
    _rank(page)
    rows = _ranked_rows(page)
    assert rows and "measured" in page.locator("#ranking table").first.inner_text()
    page.screenshot(path=str(tmp_path / "profiled-390.png"), full_page=True)
    _assert_fits_390(page)
    assert _shown_images(page, "#reasons") >= 6
    assert _hidden_in_gallery(page, "#reasons") == [], "reason images cut off at 390 px"
    cut = page.evaluate("""() => [...document.querySelectorAll('#reasons .caption-label')]
        .filter(label => label.scrollWidth > label.clientWidth + 1)
        .map(label => label.innerText)""")
    assert cut == [], f"reason captions cut at 390 px: {cut}"
    header = " ".join(page.locator("#ranking [role=columnheader]").all_inner_texts())
    assert "predicted (80% interval)" in header and "fine-tune (s)" in header
    # the phone leaves out the columns the legend names, and shows the rest whole
    shown = dict(page.evaluate("""() => [...document.querySelectorAll('#ranking th[title]')]
        .map(th => [th.title, th.getBoundingClientRect().width])"""))
    left_out = ["measured rank", "params (M)", "resolution (px)"]
    assert [name for name, width in shown.items() if width == 0] == left_out, shown
    assert len(shown) == 8 and all(shown[name] > 20 for name in shown if name not in left_out)
    page.get_by_text(PHONE_LINE).wait_for()
    assert _cut_cells(page) == [], "ranking cells cut at 390 px"
    plot = page.evaluate("""() => {
        const box = document.querySelector('#plot .mandc-plot');
        const svg = box.querySelector('svg');
        return {right: box.getBoundingClientRect().right, inner: window.innerWidth,
                reachable: svg.getBoundingClientRect().width <= box.clientWidth + 1 ||
                           getComputedStyle(box).overflowX === 'auto'};
    }""")
    assert plot["right"] <= plot["inner"] + 1 and plot["reachable"], plot
    # the plot's text is drawn at a legible size on the phone (it was 8 px: a 480-unit drawing
    # scaled down to the screen)
    text = page.evaluate("""() => [...document.querySelectorAll('#plot svg text')].map(label => {
        const drawn = parseFloat(getComputedStyle(label).fontSize) * label.getScreenCTM().a;
        return [label.textContent, drawn, label.getBoundingClientRect().height];
    })""")
    assert len(text) > 11 and all(px >= 12 and height >= 9 for _, px, height in text), text


def test_long_hub_ids_and_a_licence_fit_a_390px_phone(browser, hub_url, tmp_path):
    """Hub ids are single long words (``stabilityai/stable-diffusion-xl-base-1.0``): breaking
    them only between words made the table 407 px wide in a 324 px box, cutting the measured
    column and the licence."""
    page = _open(browser, hub_url, 390, 844)
    page.get_by_label("…or pick a profiled dataset of the graph").click()
    page.get_by_role("option", name="scenes-day", exact=True).click()
    _rank(page)
    rows = _ranked_rows(page)
    assert len(rows) == 10 and {row[1] for row in rows} <= set(HUB_IDS)
    assert {row[-1] for row in rows} == {"creativeml-openrail-m"}
    page.screenshot(path=str(tmp_path / "hub-ids-390.png"), full_page=True)
    _assert_fits_390(page)
    assert _cut_cells(page) == [], "ranking cells cut at 390 px"
    shown = dict(page.evaluate("""() => [...document.querySelectorAll('#ranking th[title]')]
        .map(th => [th.title, th.getBoundingClientRect().width])"""))
    assert shown["model"] > 40 and shown["licence"] > 40 and shown["measured FID ↓"] > 40, shown


def test_bad_inputs_get_clear_messages_and_the_app_answers_after(browser, url, tmp_path):
    page = _open(browser, url, 1280)
    _rank(page)  # nothing given
    page.get_by_text("Choose a profiled dataset, type a Hub dataset id").first.wait_for(
        timeout=WAIT_MS)

    broken = tmp_path / "broken.png"
    broken.write_text("not an image")
    (tmp_path / "broken.txt").write_text("a cat")
    _upload(page, [broken, tmp_path / "broken.txt"])
    _rank(page)
    _error_toast(page, "broken.png (not an image Pillow can identify)")
    page.locator("button[aria-label='Clear']").first.click()

    page.get_by_label("…or a Hub dataset id").fill("/etc")
    _rank(page)
    _error_toast(page, "is not a Hub dataset id")
    assert "/etc/" not in page.content()
    page.screenshot(path=str(tmp_path / "bad-input.png"), full_page=True)

    page.get_by_label("…or a Hub dataset id").fill("")
    _upload(page, sorted(example_dir("flowers").iterdir()))
    _rank(page)
    assert _ranked_rows(page)
