#!/usr/bin/env python3
"""bench/report.py: turn the raw samples of bench/run.sh into the Markdown
report (bench/RESULTS.md) and its chart, and judge each target of issue 12.

    report.py RAW.tsv MARKDOWN CHART.png

RAW.tsv lines (tab separated):
    #meta  KEY  VALUE               settings and machine facts
    CONTENDER  ROW  REP  VALUE  FLAG
        CONTENDER: kernel, e2fs, ng, raw
        VALUE: a number in the row's unit; FLAG: "" or "cap" (VALUE is
        then the cap: the workload did not finish within it)
    CONTENDER  fsck  REP  clean|UNCLEAN  IMAGE

Exit status: 0, or 2 when an image was not clean after use (the report says
which), or 3 when the raw file is unusable.
"""
import os
import statistics
import subprocess
import sys

CONTENDERS = [("kernel", "kernel ext4"), ("e2fs", "e2fsprogs fuse2fs"),
              ("ng", "fuse2fs-ng"), ("raw", "raw loop device")]

# row id, label, unit, higher is better, targets
# targets: ("k", x)  ng speed / kernel speed >= x
#          ("e", x)  ng speed / e2fs speed >= x
#          ("max", x) ng value <= x (absolute, in the row's unit)
ROWS = [
    ("seqw_buf", "sequential write {FILE}, buffered + fsync", "MB/s", True, [("k", 0.7), ("e", 5)]),
    ("seqw_dir", "sequential write {FILE}, O_DIRECT", "MB/s", True, [("k", 0.7), ("e", 5)]),
    ("seqr_buf", "sequential read {FILE} cold, buffered", "MB/s", True, [("k", 0.7), ("e", 1)]),
    ("seqr_dir", "sequential read {FILE} cold, O_DIRECT", "MB/s", True, [("k", 0.7), ("e", 1)]),
    ("randw", "4 KiB random write, buffered, 1 job", "IOPS", True, [("k", 0.5), ("e", 1)]),
    ("randr1", "4 KiB random read cold, 1 job", "IOPS", True, [("e", 1)]),
    ("randr4", "4 KiB random read cold, 4 jobs", "IOPS", True, [("k", 0.8), ("e", 1)]),
    ("create", "create {NFILES} files in one directory", "s", False, [("k", 1 / 3), ("e", 1)]),
    ("stat", "stat {NFILES} files, cold", "s", False, [("k", 1 / 3), ("e", 1)]),
    ("unlink", "unlink {NFILES} files", "s", False, [("k", 1 / 3), ("e", 1)]),
    ("cp", "`cp -a {SRC}` + sync", "s", False, [("k", 1 / 3), ("e", 1)]),
    ("find", "cold `find` (+ stat) of that tree", "s", False, [("k", 1 / 3), ("e", 1)]),
    ("rm", "`rm -rf` of that tree", "s", False, [("k", 1 / 3), ("e", 1)]),
    ("append", "{APPENDS} x (4 KiB append + fsync)", "s", False, [("e", 1)]),
    ("bigdir_create", "create {BIGDIR} files in one directory", "s", False, [("e", 1)]),
    ("bigdir_stat", "stat those {BIGDIR} files, cold", "s", False, [("e", 1)]),
    ("mount_img", "mount a {IMG} filesystem", "s", False, [("e", 1)]),
    ("mount_big", "mount a {BIGIMG} filesystem (sparse image)", "s", False, [("max", 0.05), ("e", 1)]),
    ("rss_peak", "daemon peak RSS (VmHWM) after the rows above", "MiB", False, []),
    ("walk", "walk (readdir + stat) of {WALK} inodes, cold", "s", False, [("e", 1)]),
    ("rss_walk", "daemon RSS (VmRSS) after that walk", "MiB", False, [("max", "RSS_TARGET")]),
]


# Short names for the chart's axis.
SHORT = {"seqw_buf": "seq write", "seqw_dir": "seq write direct", "seqr_buf": "seq read",
         "seqr_dir": "seq read direct", "randw": "rand write", "randr1": "rand read 1j",
         "randr4": "rand read 4j", "create": "create", "stat": "stat", "unlink": "unlink",
         "cp": "cp -a", "find": "find", "rm": "rm -rf", "append": "append+fsync",
         "bigdir_create": "create (big dir)", "bigdir_stat": "stat (big dir)",
         "mount_img": "mount", "mount_big": "mount (big)", "walk": "walk"}


def fmt(v, unit):
    if unit == "IOPS":
        return "%.1fk" % (v / 1000) if v >= 1000 else "%.0f" % v
    if unit == "MB/s":
        return "%.0f" % v if v >= 10 else "%.1f" % v
    if unit == "MiB":
        return "%.1f" % v
    if v >= 100:
        return "%.0f" % v
    if v >= 10:
        return "%.1f" % v
    if v >= 1:
        return "%.2f" % v
    return "%.3f" % v


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: report.py RAW.tsv MARKDOWN CHART.png")
    raw, md_path, chart_path = sys.argv[1:]
    meta, samples, fsck = {}, {}, []
    try:
        with open(raw) as f:
            for line in f:
                p = line.rstrip("\n").split("\t")
                if not p or not p[0]:
                    continue
                if p[0] == "#meta":
                    meta[p[1]] = p[2] if len(p) > 2 else ""
                elif len(p) >= 4 and p[1] == "fsck":
                    fsck.append((p[0], p[2], p[3], p[4] if len(p) > 4 else ""))
                elif len(p) >= 4:
                    flag = p[4] if len(p) > 4 else ""
                    samples.setdefault((p[0], p[1]), []).append((float(p[3]), flag == "cap"))
    except (OSError, ValueError, IndexError) as e:
        print("report: %s: %s" % (raw, e), file=sys.stderr)
        sys.exit(3)

    def subst(s):
        for k in ("FILE", "NFILES", "SRC", "APPENDS", "BIGDIR", "IMG", "BIGIMG", "WALK"):
            s = s.replace("{%s}" % k, meta.get(k, "?"))
        return s

    # stats[(contender,row)] = (median, min, max, capped, n)
    stats = {}
    for key, vals in samples.items():
        xs = [v for v, _ in vals]
        stats[key] = (statistics.median(xs), min(xs), max(xs), any(c for _, c in vals), len(xs))

    def speed(c, row, higher):
        """A number where bigger is faster, and whether it is only a bound."""
        s = stats.get((c, row))
        if not s:
            return None, False
        m = s[0]
        if m <= 0:
            return None, False
        return (m if higher else 1 / m), s[3]

    def ratio(row, higher, base):
        a, a_cap = speed("ng", row, higher)
        b, b_cap = speed(base, row, higher)
        if a is None or b is None:
            return None, ""
        # A capped contender's time is a lower bound (its speed an upper bound).
        if a_cap and b_cap:
            return None, "?"
        if a_cap:
            return a / b, "≤"
        if b_cap:
            return a / b, "≥"
        return a / b, ""

    rss_target = float(meta.get("RSS_TARGET_MIB", "64"))
    lines, verdicts, chart = [], [], []
    head = ["workload"] + [n for c, n in CONTENDERS] + ["ng ÷ kernel", "ng ÷ fuse2fs", "target", "verdict"]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "---|" * len(head))
    for row, label, unit, higher, targets in ROWS:
        if not any((c, row) in stats for c, _ in CONTENDERS):
            continue
        cells = [subst(label) + " (%s)" % unit]
        for c, _ in CONTENDERS:
            s = stats.get((c, row))
            if not s:
                cells.append("–")
            elif s[3] and unit == "MiB":
                cells.append("%s (walk cut off)" % fmt(s[0], unit))
            elif s[3]:
                cells.append("> %s (cap)" % fmt(s[0], unit) if s[0] == s[2] else
                             "> %s (%s–%s, cap)" % (fmt(s[0], unit), fmt(s[1], unit), fmt(s[2], unit)))
            elif s[4] > 1:
                cells.append("%s (%s–%s)" % (fmt(s[0], unit), fmt(s[1], unit), fmt(s[2], unit)))
            else:
                cells.append(fmt(s[0], unit))
        rk, rk_b = ratio(row, higher, "kernel")
        re_, re_b = ratio(row, higher, "e2fs")
        show = lambda r, b: "–" if r is None and not b else "?" if r is None else "%s%.2f" % (b, r)
        if unit == "MiB":
            cells += ["–", "–"]
        else:
            cells += [show(rk, rk_b), show(re_, re_b)]
        want, ok = [], True
        for kind, x in targets:
            if kind == "k":
                want.append("≥ %.2g× kernel" % x if x >= 0.5 else "≤ %.0f× kernel time" % (1 / x))
                good = rk is not None and rk >= x and rk_b != "≤"
            elif kind == "e":
                want.append("≥ %g× fuse2fs" % x)
                good = re_ is not None and re_ >= x and re_b != "≤"
            else:
                lim = rss_target if x == "RSS_TARGET" else x
                want.append("≤ %g %s" % (lim, unit))
                s = stats.get(("ng", row))
                good = s is not None and not s[3] and s[0] <= lim
            ok = ok and good
        if not targets or ("ng", row) not in stats:
            verdict = "–"
        else:
            verdict = "PASS" if ok else "**MISS**"
            verdicts.append((row, ok))
        cells += ["; ".join(want) or "–", verdict]
        lines.append("| " + " | ".join(cells) + " |")
        if unit != "MiB":
            ck = speed("kernel", row, higher)[0]
            if ck:
                chart.append((row, [(speed(c, row, higher)[0] or 0) / ck for c in ("e2fs", "ng", "raw")]))

    unclean = [f for f in fsck if f[2] != "clean"]
    npass = sum(1 for _, ok in verdicts if ok)
    out = []
    out.append("# fuse2fs-ng benchmark results")
    out.append("")
    out.append("Written by `%s`; the raw samples are in `%s`." %
               (meta.get("COMMAND", "bench/run.sh"), os.path.basename(meta.get("RAW_NAME", raw))))
    out.append("")
    out.append("- date: %s" % meta.get("DATE", "?"))
    out.append("- machine: %s CPUs (%s), %s RAM, kernel %s" %
               (meta.get("NPROC", "?"), meta.get("CPU", "?"), meta.get("RAM", "?"), meta.get("KERNEL", "?")))
    out.append("- commit: %s" % meta.get("COMMIT", "?"))
    out.append("- contenders: %s" % meta.get("VERSIONS", "?"))
    out.append("- settings: %s" % meta.get("SETTINGS", "?"))
    out.append("- duration of the run: %s" % meta.get("DURATION", "?"))
    if meta.get("NOTE"):
        out.append("- note: %s" % meta["NOTE"])
    out.append("")
    out.append("Cells: median (min–max) over the repetitions. Ratios are ng's speed over the "
               "other's (throughput ÷ throughput, or time⁻¹ ÷ time⁻¹): above 1 = fuse2fs-ng is "
               "faster. `> X (cap)`: that contender did not finish within the cap of X s; a "
               "ratio against it is then a bound (≥/≤). Targets are those of issue 12.")
    out.append("")
    out += lines
    out.append("")
    out.append("Targets met: %d of %d rows with a target." % (npass, len(verdicts)))
    if unclean:
        out.append("")
        out.append("**e2fsck -fn was NOT clean** after: " +
                   ", ".join("%s rep %s (%s)" % (c, r, img) for c, r, _, img in unclean))
    else:
        out.append("e2fsck -fn after every use: all %d images clean." % len(fsck))
    out.append("")
    out.append("![speed relative to kernel ext4](%s)" % os.path.basename(chart_path))
    out.append("")
    with open(md_path, "w") as f:
        f.write("\n".join(out))

    if chart:
        dat = chart_path + ".dat"
        with open(dat, "w") as f:
            for row, vals in chart:
                f.write("\"%s\" %s\n" % (SHORT.get(row, row), " ".join("%.6g" % v if v > 0 else "-" for v in vals)))
        gp = """set terminal pngcairo size 1200,560 font ",10"
set output '%s'
set title "Speed relative to kernel ext4 (1 = kernel; log scale; medians)"
set datafile missing "-"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set logscale y
set yrange [0.001:*]
set grid ytics
set xtics rotate by -35 noenhanced
set key top right
plot '%s' using 2:xtic(1) title "e2fsprogs fuse2fs", '' using 3 title "fuse2fs-ng"%s, 1 with lines lc rgb "black" dt 2 notitle
""" % (chart_path, dat, ", '' using 4 title \"raw loop device\"" if any(v[2] > 0 for _, v in chart) else "")
        try:
            subprocess.run(["gnuplot"], input=gp.encode(), check=True)
        except (OSError, subprocess.CalledProcessError) as e:
            print("report: no chart (%s); install gnuplot" % e, file=sys.stderr)
        finally:
            os.unlink(dat)
    sys.exit(2 if unclean else 0)


if __name__ == "__main__":
    main()
