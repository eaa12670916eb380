"""check_pictures.py — inspects what tests/report/test_report wrote.

    python3 check_pictures.py charts DIR     the SVG charts and PGM grids in DIR
    python3 check_pictures.py dotsvg FILE NODES EDGES
                                             dot's SVG of a graph of that many

Prints one "ok report NAME" / "FAIL report NAME" line per check (details
follow, indented), like every suite of tests/run.sh.  Standard library only.
"""
import math
import os
import re
import sys
import xml.dom.minidom

W, H = 1000, 440
failures = 0


def result(ok, name, detail=""):
    global failures
    print(("ok" if ok else "FAIL") + " report " + name)
    if not ok:
        failures += 1
        for line in str(detail).splitlines() or [""]:
            print("    " + line)


def check(name, fn):
    """Runs fn(); an AssertionError (or any error) is a FAIL with its text."""
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - every error is a failed check
        result(False, name, "%s: %s" % (type(e).__name__, e))
    else:
        result(True, name)


def parse(path):
    with open(path, "rb") as f:
        data = f.read()
    return data, xml.dom.minidom.parseString(data)


def elements(node, tag):
    return list(node.getElementsByTagName(tag))


def by_id(doc, ident):
    found = [g for g in elements(doc, "g") if g.getAttribute("id") == ident]
    assert len(found) <= 1, "id %r used %d times" % (ident, len(found))
    return found[0] if found else None


def path_points(g):
    """The points of a series group's path, and how many pieces it has."""
    paths = elements(g, "path")
    assert len(paths) == 1, "%d paths in the series" % len(paths)
    tokens = paths[0].getAttribute("d").replace("M", " M ").replace("L", " L ").split()
    pts, pieces, i = [], 0, 0
    while i < len(tokens):
        cmd = tokens[i]
        assert cmd in ("M", "L"), "unexpected token %r in the path" % cmd
        if cmd == "M":
            pieces += 1
        x, y = float(tokens[i + 1]), float(tokens[i + 2])
        pts.append((x, y))
        i += 3
    return pts, pieces


def texts(doc):
    out = []
    for t in elements(doc, "text"):
        out.append("".join(n.data for n in t.childNodes if n.nodeType == n.TEXT_NODE))
    return out


NUMERIC = ("x", "y", "x1", "x2", "y1", "y2", "cx", "cy", "r", "width", "height")


def common(path, H=H):
    """Well-formed, standalone, every number a plain finite number in the picture (H: its height)."""
    data, doc = parse(path)
    root = doc.documentElement
    assert root.tagName == "svg", "root element is %r" % root.tagName
    assert root.getAttribute("xmlns") == "http://www.w3.org/2000/svg", "no SVG namespace"
    assert root.getAttribute("width") == str(W) and root.getAttribute("height") == str(H), "size"
    low = data.lower()
    for bad in (b"<script", b"href", b"@import", b"url(", b"@font-face"):
        assert bad not in low, "contains %r: not standalone" % bad.decode()
    for el in doc.getElementsByTagName("*"):
        for a in NUMERIC:
            if el.hasAttribute(a):
                v = el.getAttribute(a)
                assert re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", v), "%s=%r on <%s>" % (a, v, el.tagName)
                f = float(v)
                limit = W if a in ("x", "x1", "x2", "cx", "width") else H
                assert -1 <= f <= limit + 1, "%s=%s on <%s> is outside the picture" % (a, v, el.tagName)
    for g in elements(doc, "g"):
        if g.getAttribute("class") == "series":
            for x, y in path_points(g)[0]:
                assert 0 <= x <= W and 0 <= y <= H, "point (%g, %g) outside the picture" % (x, y)
    return doc


def series(doc, ident, n_points, n_pieces=1, circles=None):
    g = by_id(doc, ident)
    assert g is not None, "no series %r" % ident
    pts, pieces = path_points(g)
    assert len(pts) == n_points, "%s: %d points, expected %d" % (ident, len(pts), n_points)
    assert pieces == n_pieces, "%s: %d pieces, expected %d" % (ident, pieces, n_pieces)
    if circles is not None:
        c = len(elements(g, "circle"))
        assert c == circles, "%s: %d dots, expected %d" % (ident, c, circles)
    return pts


def ticks(doc, cls):
    return [t for t in elements(doc, "text") if t.getAttribute("class") == cls]


def charts(d):
    p = lambda f: os.path.join(d, f)  # noqa: E731

    def chart():
        doc = common(p("chart.svg"))
        title = [t for t in elements(doc, "title")]
        assert title and title[0].firstChild.data == 'fashion_cnn <adam> & "friends"', "title not escaped right"
        for s in ("loss-train", "loss-test", "accuracy-train", "accuracy-test"):
            series(doc, s, 30, 1, 30)
        panels = [g.getAttribute("id") for g in elements(doc, "g") if g.getAttribute("class") == "panel"]
        assert panels == ["loss-panel", "accuracy-panel"], panels
        assert len(ticks(doc, "xtick")) >= 6 and len(ticks(doc, "ytick")) >= 6, "too few ticks"
        assert all(t.firstChild.data.endswith("%") for t in ticks(doc, "ytick")[-3:]), "accuracy ticks lack %"
        legends = [g for g in elements(doc, "g") if g.getAttribute("class") == "legend"]
        assert len(legends) == 2 and all(len(elements(g, "text")) == 2 for g in legends), "legends"
        tx = texts(doc)
        for want in ("loss per epoch", "accuracy per epoch", "epoch", "training: 0.3044", "test: 87.34%"):
            assert want in tx, "no text %r in %r" % (want, tx)
        # the loss falls: the last training point is lower in the picture (larger y)
        pts = series(doc, "loss-train", 30)
        assert pts[-1][1] > pts[0][1] and pts[-1][0] > pts[0][0], "loss series not drawn falling left to right"

    def one():
        doc = common(p("one.svg"))
        for s in ("loss-train", "loss-test", "accuracy-train", "accuracy-test"):
            series(doc, s, 1, 1, 1)
        assert [t.firstChild.data for t in ticks(doc, "xtick")] == ["1", "1"], "x ticks of one epoch"

    def nan():
        doc = common(p("nan.svg"))
        # training loss NaN at epochs 5 and 11, inf at 6: pieces 1-4, 7-10, 12
        series(doc, "loss-train", 9, 3, 9)
        series(doc, "loss-test", 11, 2, 11)
        series(doc, "accuracy-train", 11, 2, 11)
        series(doc, "accuracy-test", 12, 1, 12)
        notes = [t for t in texts(doc) if "not finite" in t]
        assert notes == ["4 values not finite (NaN or infinite), not drawn",
                         "1 value not finite (NaN or infinite), not drawn"], notes
        text = open(p("nan.svg")).read().lower()
        assert "nan" not in text.replace("with nan", "").replace("nan or", ""), "a NaN reached the SVG"
        assert "inf" not in text.replace("infinite", ""), "an inf reached the SVG"

    def lr():
        doc = common(p("lr.svg"), 2 * H - 40)
        panels = [g.getAttribute("id") for g in elements(doc, "g") if g.getAttribute("class") == "panel"]
        assert panels == ["loss-panel", "accuracy-panel", "learning-rate-panel"], panels
        pts = series(doc, "learning-rate", 20, 1, 20)
        ys = [y for _, y in pts]
        assert len(set(ys[:10])) == 1 and len(set(ys[10:])) == 1 and ys[10] > ys[9], "not a step down: %r" % ys
        frame_top = min(float(r.getAttribute("y")) for r in elements(doc, "rect") if r.getAttribute("fill") == "none")
        assert min(ys) > frame_top + 300, "the learning rate is not in the row below"
        assert "learning rate per epoch (the schedule)" in texts(doc), "no panel title"
        chart_doc = common(p("chart.svg"))
        assert by_id(chart_doc, "learning-rate") is None, "a learning rate panel without a schedule"

    def regressor():
        doc = common(p("regressor.svg"))
        series(doc, "loss-train", 20, 1, 20)
        for s in ("loss-test", "accuracy-train", "accuracy-test"):
            assert by_id(doc, s) is None, "%s drawn for a regressor" % s
        assert "no accuracy" in texts(doc), "no 'no accuracy' note"

    def constant():
        doc = common(p("constant.svg"))
        for s in ("loss-train", "loss-test", "accuracy-train", "accuracy-test"):
            pts = series(doc, s, 10, 1, 10)
            assert len({y for _, y in pts}) == 1, "%s: a constant series is not flat" % s
        frames = [r for r in elements(doc, "rect") if r.getAttribute("fill") == "none"]
        assert len(frames) == 2, "%d plot frames" % len(frames)
        top = float(frames[1].getAttribute("y"))
        pts = series(doc, "accuracy-train", 10)
        assert pts[0][1] > top + 2, "100%% accuracy drawn on the frame (y %g, frame %g)" % (pts[0][1], top)

    def long_():
        doc = common(p("long.svg"))
        series(doc, "loss-train", 2000, 1, 0)
        series(doc, "accuracy-train", 2000, 1, 0)
        assert by_id(doc, "loss-test") is None, "a test series without a test set"
        assert "training" in elements(doc, "title")[0].firstChild.data, "default title"
        xt = [t.firstChild.data for t in ticks(doc, "xtick")]
        assert xt[:4] == ["500", "1000", "1500", "2000"], "x ticks %r" % xt

    def huge():
        doc = common(p("huge.svg"))
        size = os.path.getsize(p("huge.svg"))
        assert size < 400000, "huge.svg is %d bytes" % size
        for ident, pieces in (("loss-train", 2), ("loss-test", 1), ("accuracy-train", 1), ("accuracy-test", 1)):
            g = by_id(doc, ident)
            assert g is not None, "no series %r" % ident
            pts, got = path_points(g)
            assert got == pieces, "%s: %d pieces, expected %d" % (ident, got, pieces)
            assert 400 <= len(pts) <= 4 * 400 + 8, "%s: %d points after thinning" % (ident, len(pts))
            xs = [x for x, _ in pts]
            assert xs == sorted(xs), "%s: points out of order" % ident
        # the noise survives thinning: the column extremes are kept
        ys = [y for _, y in path_points(by_id(doc, "loss-train"))[0][:40]]
        assert max(ys) - min(ys) > 5, "the noise of the loss was smoothed away"
        heading = [t for t in elements(doc, "text") if t.getAttribute("class") == "title"][0].firstChild.data
        assert heading == "x" * 80 + "...", "heading %r" % heading
        assert elements(doc, "title")[0].firstChild.data == "x" * 199, "<title> is not the whole title"

    def allnan():
        doc = common(p("allnan.svg"))
        assert by_id(doc, "loss-train") is None and by_id(doc, "loss-test") is None, "NaN series drawn"
        assert "no finite loss values" in texts(doc), "no note for an empty loss panel"
        series(doc, "accuracy-train", 8, 1, 8)

    def locale():
        common(p("locale.svg"))  # every number matched -?[0-9]+(.[0-9]+)?

    def grid():
        data = open(p("grid.pgm"), "rb").read()
        head = b"P5\n5 5\n255\n"
        assert data.startswith(head), "header %r" % data[:16]
        px = list(data[len(head):])
        assert len(px) == 25, "%d pixels, expected 25" % len(px)
        want = [0, 255, 128, 128, 0,
                255, 0, 128, 255, 0,
                128, 128, 128, 128, 128,
                255, 255, 128, 128, 128,
                255, 255, 128, 128, 128]
        assert px == want, "pixels\n%r\nexpected\n%r" % (px, want)

    def pgm_sizes():
        for f, w, h in (("samples.pgm", 4 * 28 + 3, 3 * 28 + 2), ("row.pgm", 3 * 28 + 2, 28)):
            data = open(p(f), "rb").read()
            head = b"P5\n%d %d\n255\n" % (w, h)
            assert data.startswith(head), "%s: header %r, expected %r" % (f, data[:16], head)
            assert len(data) == len(head) + w * h, "%s: %d bytes, expected %d" % (f, len(data), len(head) + w * h)

    for name, fn in (("svg chart.svg: both panels, four series", chart), ("svg one.svg: n=1", one),
                     ("svg lr.svg: a changing learning rate gets a panel below", lr),
                     ("svg nan.svg: NaN and inf skipped", nan), ("svg regressor.svg: no accuracy", regressor),
                     ("svg constant.svg: flat series", constant), ("svg long.svg: 2000 epochs", long_),
                     ("svg huge.svg: 100000 epochs thinned", huge),
                     ("svg allnan.svg: empty loss panel", allnan), ("svg locale.svg: plain numbers", locale),
                     ("pgm grid.pgm: header and pixels", grid), ("pgm sizes", pgm_sizes)):
        check(name, fn)


def dotsvg(path, n, n_edges):
    def fn():
        _, doc = parse(path)
        nodes = [g for g in elements(doc, "g") if g.getAttribute("class") == "node"]
        edges = [g for g in elements(doc, "g") if g.getAttribute("class") == "edge"]
        assert len(nodes) == n, "%d nodes in dot's SVG, expected %d" % (len(nodes), n)
        assert len(edges) == n_edges, "%d edges in dot's SVG, expected %d" % (len(edges), n_edges)
    check("dot %s: dot -Tsvg gives %d nodes, %d edges" % (os.path.basename(path), n, n_edges), fn)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "charts":
        charts(sys.argv[2])
    elif len(sys.argv) == 5 and sys.argv[1] == "dotsvg":
        dotsvg(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        sys.exit(__doc__)
    sys.exit(1 if failures else 0)
