"""The search benchmark's 200 queries and their latency through ``search.selectors.search``."""

from __future__ import annotations

import random
import re
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from bench.desk.measure import StatementMeter, _explain, _percentile, _quiet, _summary
from bench.search.corpus import PEOPLE_EXTRA, SHOPS, Writer

COMMON_AR = [
    "طلب", "رخصة", "البناء", "شكاية", "شهادة", "النفايات", "الإنارة", "محل", "الماء", "اجتماع", "تصحيح",
    "الولادة", "الكهرباء", "السكنى", "تجاري", "الرصيف", "الجماعة", "الطريق", "المقهى", "الحي", "الرسم",
    "العقاري", "الملف", "الإدارية",
]  # fmt: skip
COMMON_FR = [
    "demande", "autorisation", "construire", "réclamation", "certificat", "résidence", "naissance", "éclairage",
    "eau", "réunion", "commune", "terrain", "quartier", "dossier", "permis", "assainissement", "trottoir",
]  # fmt: skip
TWO_WORDS = [
    "رخصة البناء", "شهادة السكنى", "الإنارة العمومية", "الصرف الصحي", "رسم الولادة", "محل تجاري",
    "الماء الصالح", "طلب تصحيح", "الرسم العقاري", "المهندس المعماري", "عقد الكراء", "الملك العمومي",
    "acte naissance", "éclairage public", "titre foncier", "permis construire", "terrasse café",
    "réseau assainissement", "certificat résidence", "commission provinciale", "plan aménagement",
    "طلب Demande", "رخصة autorisation",
]  # fmt: skip
THREE_WORDS = [
    "طلب رخصة البناء", "الاحتلال المؤقت للملك", "رخصة استغلال محل", "شكاية الإنارة العمومية",
    "copie intégrale acte", "demande certificat résidence", "autorisation exploitation local",
    "تصحيح الاسم العائلي", "raccordement eau potable", "اجتماع اللجنة الإقليمية",
]  # fmt: skip
VARIANTS = {
    "no hamza": ["الادارية", "ارضية", "الانارة", "اصلاح", "اداء", "الامضاء", "اضافة", "الاقليمية", "اسابيع"],
    "ه for ة": ["رخصه", "شكايه", "شهاده", "الولاده", "النظافه", "العموميه", "المدرسه", "الجماعه"],
    "ي for ى": ["مقهي", "المستشفي", "السكني", "المبني", "الاقصي", "مصطفي", "ليلي"],
    "prefix": [
        "والرخصة",
        "بالإدارة",
        "للبناء",
        "وبالحي",
        "فالطلب",
        "كالمحل",
        "وللمدرسة",
        "بالمقهى",
        "والنفايات",
        "للمستشفى",
        "وشهادة",
        "بطلب",
    ],
    "marks": ["رُخْصَة", "البِنَاء", "شَهَادَة", "رخـــصة", "الإنـارة", "النفـايات"],
    "digits": ["١٢٣", "٢٠٢٥", "٤٥"],
}
ACCENTS = [
    ("état civil", "etat civil"), ("réclamation", "reclamation"), ("éclairage", "eclairage"),
    ("électricité", "electricite"), ("intégrale", "integrale"), ("résidence", "residence"), ("Fès", "fes"),
    ("Kénitra", "KENITRA"), ("école", "ecole"), ("hôpital", "hopital"), ("Maârif", "maarif"),
    ("façade", "facade"), ("élevé", "ELEVE"),
]  # fmt: skip
STOP_ONLY = ["في من على", "le la de", "إلى", "et les"]
# How many queries of each kind: 200 in all.
PLAN = {
    "common word (ar)": 20,
    "common word (fr)": 14,
    "rare word": 24,
    "two words": 28,
    "three words": 10,
    "variant": 36,
    "french accents": 16,
    "registration number": 16,
    "filtered": 32,
    "stop words only": 4,
}
QUERIES = sum(PLAN.values())


@dataclass(frozen=True)
class Query:
    kind: str
    text: str
    filters: dict[str, Any] = field(default_factory=dict)  # search.selectors.Filters fields

    def label(self) -> str:
        described = ", ".join(f"{k}={v}" for k, v in self.filters.items())
        return f"{self.text!r}" + (f" [{described}]" if described else "")


def _pick(rng: random.Random, pool: list[Any], k: int) -> list[Any]:
    return rng.sample(pool, k) if k <= len(pool) else rng.sample(pool, len(pool)) + rng.choices(pool, k=k - len(pool))


def _from_data(administration_id: int, seed: int) -> dict[str, list[str]]:
    """Words only a few letters of the biggest administration have, read from its letters (the
    dataset is the same for a seed and a day): identity numbers, land titles, e-mails; and its
    registration numbers."""
    from django.db.models import Max

    from registry.models import Correspondence

    mine = Correspondence.objects.filter(administration_id=administration_id)
    ids = list(mine.order_by("pk").values_list("pk", flat=True))
    chosen = ids[:: max(1, len(ids) // 400)][:400]
    sample = [
        # The sender of an incoming letter, the addressee of an outgoing one.
        (sender_id or addressee_id, sender_email or addressee_email, body)
        for sender_id, sender_email, addressee_id, addressee_email, body in mine.filter(pk__in=chosen)
        .order_by("pk")
        .values_list("sender_identifier", "sender_email", "addressee_identifier", "addressee_email", "body")
    ]
    rng = random.Random(seed)
    cins = [cin for cin, _e, _b in sample if re.fullmatch(r"[A-Z]{2}\d{6}", cin)]
    emails = [email.split("@")[0] for _c, email, _b in sample if email]
    titles = [m.group(1) for _c, _e, body in sample for m in re.finditer(r"(\d{4,5})/\d\d", body)]
    numbers = []
    for direction, prefix in (("incoming", "A"), ("outgoing", "D")):
        for year, highest in (
            mine.filter(direction=direction).values_list("year").annotate(Max("sequence")).order_by("year")
        ):
            numbers += [f"{prefix}-{year}-{rng.randrange(1, highest + 1):06d}" for _ in range(4)]
    return {"cin": cins, "email": emails, "title": titles, "number": numbers}


def queries(seed: int, today: date, administration_id: int, services: dict[str, int]) -> list[Query]:
    """The fixed set: the same for a seed, a day and a dataset."""
    rng = random.Random(seed)
    data = _from_data(administration_id, seed)
    writer = Writer(seed)  # the corpus's places, in the order of their frequency (Zipf)
    places = writer.places
    rare_places = [p_ar for _k, _kf, p_ar, _pf in places[-60:] if " " not in p_ar]
    rare_places_fr = [p_fr for _k, _kf, _pa, p_fr in places[-60:] if " " not in p_fr]
    common_places = [p_ar for _k, _kf, p_ar, _pf in places[:10] if " " not in p_ar]
    rare_words = (
        _pick(rng, rare_places, 6)
        + _pick(rng, rare_places_fr, 4)
        + [SHOPS[-1][0].split()[-1], SHOPS[-2][1], "hammam", "مصبنة", "نجوى", PEOPLE_EXTRA[-1]]
        + _pick(rng, data["cin"], 3)
        + _pick(rng, data["title"], 3)
        + _pick(rng, data["email"], 2)
    )
    out: list[Query] = []
    add = out.extend
    add(Query("common word (ar)", w) for w in _pick(rng, COMMON_AR, PLAN["common word (ar)"]))
    add(Query("common word (fr)", w) for w in _pick(rng, COMMON_FR, PLAN["common word (fr)"]))
    add(Query("rare word", w) for w in rare_words[: PLAN["rare word"]])
    two = _pick(rng, TWO_WORDS, PLAN["two words"] - 6)
    two += [f"{rng.choice(COMMON_AR)} {p}" for p in _pick(rng, rare_places, 3)]
    two += [f"حي {p}" for p in _pick(rng, common_places, 3)]
    add(Query("two words", w) for w in two)
    add(Query("three words", w) for w in _pick(rng, THREE_WORDS, PLAN["three words"]))
    variants = [(kind, w) for kind, words in VARIANTS.items() for w in words]
    add(Query(f"variant: {kind}", w) for kind, w in _pick(rng, variants, PLAN["variant"]))
    for accented, plain in _pick(rng, ACCENTS, PLAN["french accents"] // 2):
        add([Query("french, accents", accented), Query("french, no accents", plain)])
    numbers = _pick(rng, data["number"], PLAN["registration number"] - 4)
    numbers += [numbers[0].lower(), re.sub(r"-0+(\d)", r"-\1", numbers[1]), f"A-{today.year - 9}-000001"]
    numbers.append(re.sub(r"\d+$", lambda m: str(int(m.group())).translate(_ARABIC_DIGITS), numbers[2]))
    add(Query("registration number", w) for w in numbers)
    add(_filtered(rng, today, services, rare_places))
    add(Query("stop words only", w) for w in STOP_ONLY[: PLAN["stop words only"]])
    assert len(out) == QUERIES, len(out)
    rng.shuffle(out)
    return out


_ARABIC_DIGITS = str.maketrans({str(n): chr(0x0660 + n) for n in range(10)})


def _filtered(rng: random.Random, today: date, services: dict[str, int], rare: list[str]) -> list[Query]:
    month_start = (today.replace(day=1) - timedelta(days=200)).replace(day=1)
    month_end = (month_start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    ranges: list[dict[str, Any]] = [
        {"date_from": today - timedelta(days=30)},
        {"date_from": today - timedelta(days=7), "date_to": today},
        {"date_from": month_start, "date_to": month_end},
        {"date_from": date(today.year - 1, 1, 1), "date_to": date(today.year - 1, 12, 31)},
    ]
    out = []
    words = [*COMMON_AR, *COMMON_FR]
    for i in range(8):
        out.append(Query("filtered: dates", rng.choice(words), ranges[i % 4]))
    for i in range(4):
        out.append(Query("filtered: dates, rare word", rng.choice(rare), ranges[i % 4]))
    for i in range(8):
        direction = "outgoing" if i % 2 else "incoming"
        out.append(Query("filtered: register", rng.choice([*words, *TWO_WORDS]), {"direction": direction}))
    for i in range(4):
        out.append(Query("filtered: register and dates", rng.choice(words), {"direction": "outgoing", **ranges[i]}))
    for i in range(2):
        out.append(Query("filtered: no words, dates", "", ranges[i]))
    out.append(Query("filtered: no words, register", "", {"direction": "outgoing"}))
    out.append(Query("filtered: no words, register and dates", "", {"direction": "incoming", **ranges[2]}))
    out.append(Query("filtered: service", "رخصة", {"service_id": services["URB"]}))
    out.append(Query("filtered: service", "demande", {"service_id": services["TECH"]}))
    out.append(Query("filtered: status", "شهادة", {"status": "in_progress"}))
    out.append(Query("filtered: status and dates", "طلب", {"status": "closed", **ranges[3]}))
    return out


# ---------------------------------------------------------------- measuring


def measure(code: str, seed: int, today: date, passes: int, quiet_wait: float, explain: int) -> dict[str, Any]:
    """Each query through ``search.selectors.search`` as the clerk of administration ``code``:
    one pass to warm up, then ``passes`` measured passes."""
    from django.db import connection

    from search.selectors import Filters, search
    from tenancy.access import scope_of
    from tenancy.models import Administration, Membership, Service

    administration = Administration.objects.get(code=code)
    clerk = Membership.objects.get(administration=administration, role="clerk").user
    services = dict(Service.objects.filter(administration=administration).values_list("code", "pk"))
    planned = queries(seed, today, administration.pk, services)
    scope = scope_of(clerk, administration)  # what a request computes before searching

    def run(query: Query) -> tuple[float, Any, StatementMeter]:
        meter = StatementMeter()
        with connection.execute_wrapper(meter):
            t0 = time.perf_counter()
            results = search(scope, query.text, Filters(**query.filters))
            wall = (time.perf_counter() - t0) * 1000
        return wall, results, meter

    for query in planned:  # warm-up: caches, the database's pages, the normaliser's stemmers
        run(query)
    busy = _quiet(quiet_wait)
    timings: list[list[float]] = [[] for _ in planned]
    rows: list[dict[str, Any]] = []
    for n in range(passes):
        for i, query in enumerate(planned):
            wall, results, meter = run(query)
            timings[i].append(wall)
            if n == 0:
                longest = max(meter.statements, key=lambda s: s[2], default=("", None, 0.0))
                rows.append(
                    {
                        "kind": query.kind,
                        "query": query.text,
                        "filters": {k: str(v) for k, v in query.filters.items()},
                        "total": results.total,
                        "capped": results.capped,
                        "hits": len(results.hits),
                        "by_number": results.by_number,
                        "no_terms": results.no_terms,
                        "ranked": getattr(results, "ranked", None),  # False: latest first (too many to rank)
                        "statements": len(meter.statements),
                        "sql_ms": round(sum(ms for _s, _p, ms in meter.statements), 1),
                        "slowest_statement": _summary(longest[0]),
                        "slowest_statement_ms": round(longest[2], 1),
                    }
                )
    for row, walls in zip(rows, timings, strict=True):
        row["ms"] = [round(w, 1) for w in walls]
        row["median_ms"] = round(statistics.median(walls), 1)
    every = [w for walls in timings for w in walls]
    by_kind: dict[str, list[float]] = {}
    for row, walls in zip(rows, timings, strict=True):
        by_kind.setdefault(row["kind"].split(":")[0].split(",")[0], []).extend(walls)
    slowest = sorted(range(len(planned)), key=lambda i: rows[i]["median_ms"], reverse=True)
    explained = []
    for i in slowest[:explain]:  # the slowest statement of the slowest queries, EXPLAINed
        _wall, _results, meter = run(planned[i])
        sql, params, ms = max(meter.statements, key=lambda s: s[2])
        explained.append(
            {
                "query": planned[i].label(),
                "statement_ms": round(ms, 1),
                "sql": sql,
                "params": [str(p) for p in params] if params else [],
                "plan": _explain(sql, params),
            }
        )
    result: dict[str, Any] = {
        "user": clerk.email,
        "administration": code,
        "queries": len(planned),
        "passes": passes,
        "busy_before_pct": busy,
        "p50_ms": round(statistics.median(every), 1),
        "p95_ms": round(_percentile(every, 95), 1),
        "max_ms": round(max(every), 1),
        "mean_ms": round(statistics.mean(every), 1),
        "capped": sum(1 for row in rows if row["capped"]),
        "no_results": sum(1 for row in rows if not row["total"] and not row["no_terms"]),
        "by_kind": {
            kind: {"n": len(walls), "p50_ms": round(statistics.median(walls), 1), "max_ms": round(max(walls), 1)}
            for kind, walls in sorted(by_kind.items())
        },
        "slowest": [
            {"query": planned[i].label()}
            | {k: rows[i][k] for k in ("kind", "median_ms", "ms", "total", "capped", "slowest_statement")}
            for i in slowest[:5]
        ],
        "explained": explained,
        "per_query": rows,
    }
    print(
        f"  search: p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms, max {result['max_ms']} ms "
        f"({len(every)} searches)",
        file=sys.stderr,
    )
    for entry in result["slowest"]:
        print(f"    {entry['median_ms']} ms  {entry['query']}  total {entry['total']}", file=sys.stderr)
    return result
