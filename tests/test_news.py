"""News import (eventstudy.news): parsers on the real digests, ticker resolution, typing rules,
time mapping, de-duplication, the CLI, and precision/recall against the hand-curated seed file.

The three digests and seed_events.csv are real text copied into tests/fixtures/news/ (see its
PROVENANCE.md). Inputs written inside tests for de-duplication are SYNTHETIC and named so.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from eventstudy._errors import InputFileError
from eventstudy.cli import app
from eventstudy.events import load_events, read_event_csv, validate_events
from eventstudy.news import import_digests
from eventstudy.news.classify import classify, load_rules, read_rules
from eventstudy.news.names import NameMap, bundled_names, normalize_name
from eventstudy.news.parsers import (FeedDumpParser, GenericParser, LookupEntry, NewsletterParser, SummaryParser,
                                     parse_digest)
from eventstudy.news.resolve import exchange_tags, resolve_ticker
from eventstudy.news.timing import find_timing, session_time, timestamp_timing

FIX = Path(__file__).parent / "fixtures" / "news"
DIGESTS = sorted(FIX.glob("digest_*.txt"))
A, B, C = DIGESTS
runner = CliRunner()


def _text(p: Path) -> str:
    return p.read_text(encoding="utf-8")


# ---- parsers, each on its real file -------------------------------------------------------------

def test_feed_dump_parser_on_digest_c():
    assert FeedDumpParser().sniff(_text(C)) and not NewsletterParser().sniff(_text(C))
    d = FeedDumpParser().parse(_text(C), C.name)
    assert [i.title.split()[0] for i in d.items] == ["Dragon", "Biodefense", "Cosmos", "Corbus", "Pfizer", "One",
                                                    "NANOBIOTIX", "CAR"]
    corbus = d.items[3]
    assert corbus.title == "Corbus Pharmaceuticals Announces Pricing of Public Offering"
    assert corbus.url.endswith("Corbus-Pharmaceuticals-Announces-Pricing-of-Public-Offering.html")
    assert "(Nasdaq: CRBP)" in corbus.text and "[Source link]" not in corbus.text
    lk = {e.name: (e.symbol, e.note) for e in d.lookups}
    assert len(lk) == 8
    assert lk["cosmos health"] == ("COSM", "") and lk["nanobiotix"][0] == "5NR.F"
    assert lk["corbus pharmaceuticals"][0] == "" and "422 Client Error" in lk["corbus pharmaceuticals"][1]
    assert lk["dragon pharma"] == ("", "note: no reliable listing found")
    assert [s.title for s in d.sections] == ["No articles found for this sector..."] * 3


def test_newsletter_parser_on_digest_b():
    assert NewsletterParser().sniff(_text(B)) and not FeedDumpParser().sniff(_text(B))
    d = NewsletterParser().parse(_text(B), B.name)
    assert len(d.items) == 8
    wugen = d.items[0]
    assert wugen.title == "Wugen’s Sofi-cel earns FDA Breakthrough Therapy Designation"
    assert (wugen.header_region, wugen.header_date) == ("US", "21 Jan 2026")
    assert wugen.url.startswith("https://wugen.com/") and wugen.text.startswith("Context:")
    assert [i.header_date for i in d.items] == ["21 Jan 2026", "23 Jan 2026", "22 Jan 2026", "21 Jan 2026",
                                                "21 Jan 2026", "21 Jan 2026", "20 Jan 2026", "22 Jan 2026"]
    assert not any("FAQ" in i.text or "Why it matters" in i.text for i in d.items)
    assert {s.title for s in d.sections} >= {"Why it matters", "FAQ", "References"}


def test_summary_parser_on_digest_a():
    assert SummaryParser().sniff(_text(A)) and not NewsletterParser().sniff(_text(A))
    d = SummaryParser().parse(_text(A), A.name)
    assert [i.title.split()[0] for i in d.items] == ["Allogene", "ImmunityBio", "Oncolytics"]
    assert d.items[0].page_symbols == ("ALLO",)
    assert "About ALLO" not in d.items[0].text and "Get Free Real-Time" not in d.items[0].text
    assert d.items[1].text.startswith("- Price Surge")


def test_parse_digest_picks_the_shape_and_falls_back_to_generic():
    assert parse_digest(_text(C), C.name).parser == "feed_dump"
    assert parse_digest(_text(B), B.name).parser == "newsletter"
    assert parse_digest(_text(A), A.name).parser == "summaries"
    d = parse_digest("- one bullet\n\n- another bullet https://x.org/a", "x.txt")
    assert d.parser == "generic" and len(d.items) == 2 and d.items[1].url == "https://x.org/a"
    assert GenericParser().sniff("anything")


# ---- ticker resolution ----------------------------------------------------------------------------

NO_NAMES = NameMap.from_frame(pd.DataFrame(columns=["name", "ticker", "source"]))


@pytest.mark.parametrize("company, text, ticker", [
    ("Corbus Pharmaceuticals Holdings, Inc.", "-- Corbus Pharmaceuticals Holdings, Inc. (Nasdaq: CRBP) (“Corbus”)", "CRBP"),
    ("Nanobiotix", "Nanobiotix (NASDAQ: NBTX) announced", "NBTX"),
    ("Pfizer", "Pfizer Inc. (NYSE: PFE) said", "PFE"),
    ("Cosmos Health Inc.", 'Cosmos Health Inc. ("Cosmos Health" or the “Company”) (NASDAQ:COSM) , a', "COSM"),
])
def test_exchange_tags_give_the_ticker(company, text, ticker):
    r = resolve_ticker(company, text, [], NO_NAMES)
    assert (r.ticker, r.method, r.review) == (ticker, "exchange_tag", [])
    assert "exchange tag" in r.evidence[0]


def test_dual_listing_prefers_the_us_listing_and_says_so():
    text = "NANOBIOTIX (Euronext: NANO –– NASDAQ: NBTX – the ‘‘Company’’), a late-stage"
    lookups = [LookupEntry("d", "nanobiotix", "5NR.F", "")]
    r = resolve_ticker("NANOBIOTIX", text, lookups, NO_NAMES)
    assert r.ticker == "NBTX"
    ev = " ".join(r.evidence)
    assert "Euronext: NANO" in ev and "US listing preferred" in ev
    assert "5NR.F noted, not used" in ev


def test_foreign_lookup_symbol_is_noted_not_used():
    r = resolve_ticker("Nanobiotix", "no tags here", [LookupEntry("d", "nanobiotix", "5NR.F", "")], NO_NAMES)
    assert r.ticker == "" and r.review == ["no_ticker"] and "5NR.F noted, not used" in " ".join(r.evidence)


def test_lookup_symbol_used_alone_is_flagged_and_lookup_error_recorded():
    r = resolve_ticker("Cosmos Health", "", [LookupEntry("d", "cosmos health", "COSM", "")], NO_NAMES)
    assert (r.ticker, r.review) == ("COSM", ["lookup_ticker"])
    r = resolve_ticker("Corbus Pharmaceuticals", "", [LookupEntry("d", "corbus pharmaceuticals", "", "error: 422")],
                       NO_NAMES)
    assert r.ticker == "" and "gave no symbol (error: 422)" in " ".join(r.evidence)


def test_non_us_and_otc_tags_are_not_used():
    assert [t.kind for t in exchange_tags("(Nasdaq Copenhagen: GMAB) (OTCQX: ABCD) (TSX: ONC) (NYSE American: XYZ)")] \
        == ["foreign", "otc", "foreign", "us"]
    r = resolve_ticker("Genmab", "Genmab A/S (Nasdaq Copenhagen: GMAB)", [], NO_NAMES)
    assert r.ticker == "" and "only non-US tags" in " ".join(r.evidence)
    r = resolve_ticker("Foo", "Foo Corp (OTCQB: FOOO)", [], NO_NAMES)
    assert r.ticker == "" and "OTC tag 'OTCQB: FOOO' noted, not used" in " ".join(r.evidence)


def test_a_tag_of_another_company_is_not_used():
    text = "Pfizer Inc. shared on Friday that it received early approval for the acquisition of Metsera, Inc. (NASDAQ: MTSR)."
    r = resolve_ticker("Pfizer", text, [], NO_NAMES)
    assert r.ticker == "" and "not attached to 'Pfizer'" in r.evidence[0]
    assert resolve_ticker("Metsera", text, [], NO_NAMES).ticker == "MTSR"


def test_two_us_tags_in_one_group_are_ambiguous_and_sources_that_disagree_too():
    r = resolve_ticker("Foo", "Foo Inc. (NASDAQ: FOO; NYSE: FOOB)", [], NO_NAMES)
    assert (r.ticker, r.review) == ("", ["ambiguous_ticker"])
    r = resolve_ticker("Bar Corp", "Bar Corp. (NYSE: BAR) and Baz Inc. (NASDAQ: BAZ) said", [], NO_NAMES)
    assert r.ticker == "BAR" and "other US tags later in the text (not the issuer's): BAZ" in r.evidence[0]
    names = NameMap.from_frame(pd.DataFrame({"name": ["Foo Inc."], "ticker": ["FOO"], "source": ["t"]}))
    r = resolve_ticker("Foo", "", [LookupEntry("d", "foo", "FOOX", "")], names)
    assert (r.ticker, r.review) == ("", ["ambiguous_ticker"]) and "disagree" in r.evidence[-1]


@pytest.mark.parametrize("company", ["Wugen", "Ouro", "Opna Bio", "Dragon Pharma"])
def test_private_companies_get_no_ticker(company):
    text = _text(B) if company != "Dragon Pharma" else _text(C)
    lookups = parse_digest(text, "d").lookups
    names = bundled_names().without_sources("seed_events.csv")
    r = resolve_ticker(company, f"{company} news", lookups, names)
    assert (r.ticker, r.review) == ("", ["no_ticker"])


def test_known_names_in_text():
    from eventstudy.news.resolve import known_names_in

    nm = bundled_names().without_sources("seed_events.csv")
    found = [n for _, n in known_names_in("Genmab receives royalties under Johnson & Johnson license; "
                                          "TG Therapeutics said; a kite flew; the rain fell", nm, [])]
    assert found == ["Genmab", "Johnson & Johnson", "TG Therapeutics"]     # short cores need the full name
    assert known_names_in("about eli lilly and pfizer", nm, []) == []       # lower case is not a name


def test_name_map_normalises_and_user_names_override():
    assert normalize_name("Corbus Pharmaceuticals Holdings, Inc.") == "corbus"
    assert normalize_name("Genmab A/S") == "genmab"
    assert normalize_name("Eli Lilly and Company") == "eli lilly"
    assert normalize_name("Takeda Pharmaceutical (ADR)") == "takeda"
    assert normalize_name("Wugen (trial site: Children's Hospital Los Angeles)") == "wugen"
    nm = bundled_names()
    assert nm.lookup("Gilead Sciences, Inc.").tickers == ("GILD",)
    assert nm.lookup("Wugen").tickers == ("",)                   # known unlisted, from seed_events.csv
    user = NameMap.from_frame(pd.DataFrame({"name": ["Oncolytics Biotech Inc."], "ticker": ["ONCY"],
                                            "source": ["mine.csv"]}))
    assert nm.without_sources("seed_events.csv").lookup("Oncolytics") is None
    assert nm.without_sources("seed_events.csv").override(user).lookup("Oncolytics Biotech").tickers == ("ONCY",)


# ---- typing rules ---------------------------------------------------------------------------------

RULES = load_rules()


@pytest.mark.parametrize("title, text, etype, subtype", [
    ("Corbus Pharmaceuticals Announces Pricing of Public Offering", "", "equity_offering", "follow_on_pricing"),
    ("Acme prices public offering of common stock", "", "equity_offering", "follow_on_pricing"),
    ("Wugen’s Sofi-cel earns FDA Breakthrough Therapy Designation", "prior RMAT, Fast Track", "fda_designation",
     "breakthrough"),
    ("Acme signs royalty-based financing with HCRx", "", "non_dilutive_financing", "royalty_monetization"),
    ("Acme update", "entered into a royalty financing agreement", "non_dilutive_financing", "royalty_monetization"),
    ("Pfizer gets early FTC approval for Metsera acquisition", "", "m_and_a", "antitrust_clearance"),
    ("Acme update", "the FTC granted early termination of the HSR waiting period", "m_and_a", "antitrust_clearance"),
    ("Takeda launches low-IgA GAMMAGARD LIQUID ERC in the US", "", "product_launch", "us_launch"),
    ("Saudi SFDA grants accelerated approval to Anktiva", "", "corporate_update", "ex_us_regulatory_approval"),
])
def test_rules_type_the_issue_examples(title, text, etype, subtype):
    t = classify(title, text, RULES)
    assert (t.event_type, t.subtype, t.skip_reason) == (etype, subtype, "")
    assert re.search(r"type: rule '[\w-]+' matched '.+' in the (title|text)", t.evidence[0])


def test_body_only_match_lowers_confidence_and_no_match_is_flagged():
    assert classify("Acme Breakthrough Therapy Designation", "", RULES).confidence == "high"
    t = classify("Acme news", "FDA granted Breakthrough Therapy Designation", RULES)
    assert (t.event_type, t.confidence) == ("fda_designation", "medium")
    t = classify("Acme news", "", RULES)
    assert (t.event_type, t.review) == ("", ["no_type"])


def test_skip_rules_on_market_research_and_cosmos_breakthrough_platform_is_not_a_designation():
    t = classify("Biodefense Market to Attain USD 32.87 Billion by 2034", "", RULES)
    assert t.skip_reason.startswith("market-research release")
    t = classify("Cosmos Health Enters New R&D Program", "CCX Hydrogel, a breakthrough platform", RULES)
    assert (t.event_type, t.subtype) == ("rnd_program", "new_rd_program")


def test_user_rules_add_and_override(tmp_path):
    f = tmp_path / "rules.csv"
    f.write_text("rule_id,action,event_type,subtype,pattern,requires,confidence,priority,note\n"
                 "fda-breakthrough,event,fda_designation,btd_custom,breakthrough therapy,,low,90,\n"
                 "spinoff,event,corporate_update,spin_off,\\bspin-?off\\b,,high,95,\n")
    rules = load_rules([f])
    assert classify("Acme announces spin-off", "", rules).subtype == "spin_off"
    t = classify("Acme gets Breakthrough Therapy designation", "", rules)
    assert (t.subtype, t.confidence) == ("btd_custom", "low") and t.review == ["low_confidence_type"]


def test_bad_rules_file_names_row_and_field(tmp_path):
    f = tmp_path / "bad.csv"
    f.write_text("rule_id,action,event_type,subtype,pattern,confidence,priority\n"
                 "r1,event,not_a_type,x,abc,high,1\n"
                 "r2,event,m_and_a,x,(unclosed,high,1\n"
                 "r3,maybe,m_and_a,x,abc,sure,one\n")
    with pytest.raises(InputFileError) as e:
        read_rules(f)
    where = {(p.row, p.field) for p in e.value.problems}
    assert where == {(1, "event_type"), (2, "pattern"), (3, "action"), (3, "confidence"), (3, "priority")}


# ---- dates and times ------------------------------------------------------------------------------

def test_wire_dateline_gives_the_date_and_history_in_text_is_not_a_date():
    t = find_timing("NORWOOD, Mass., Oct. 31, 2025 (GLOBE NEWSWIRE) -- Corbus", "https://x/2025/10/31/1/")
    assert (t.event_date, t.event_time, t.confidence) == (dt.date(2025, 10, 31), "unknown", "medium")
    assert "URL date agrees" in t.evidence[-1]
    t = find_timing("mRNA research ... On Dec. 31, 2019, the first reports emerged")
    assert t.event_date is None and t.review == ["no_date"]


def test_newsletter_date_is_low_confidence_and_no_date_is_never_today():
    t = find_timing("Context: ...", "https://www.ouromedicines.com/news/012026/", "20 Jan 2026")
    assert (t.event_date, t.confidence, t.review) == (dt.date(2026, 1, 20), "low", ["secondary_date"])
    t = find_timing("closing at $6.92 on Wednesday")
    assert t.event_date is None and t.review == ["no_date"] and "Wednesday" in t.evidence[0]


def test_weekend_date_names_the_first_session():
    t = find_timing("DUBAI, United Arab Emirates, Nov. 01, 2025 (GLOBE NEWSWIRE) -- Dragon Pharma")
    assert t.event_date == dt.date(2025, 11, 1)
    assert "2025-11-01 (Saturday) is not an NYSE session; day 0 is the next session 2025-11-03" in t.evidence[-1]


def test_url_date_conflict_is_flagged():
    t = find_timing("PARIS, Oct. 31, 2025 (GLOBE NEWSWIRE) -- X", "https://x/2025/11/02/9/")
    assert "date_conflict" in t.review


@pytest.mark.parametrize("stamp, tz, date, session", [
    ("2025-10-31 20:22:00", "UTC", "2025-10-31", "after_close"),   # 16:22 EDT (the Pfizer item)
    ("2025-10-31 13:00:00", "UTC", "2025-10-31", "pre_market"),    # 09:00 EDT
    ("2025-10-31 13:30:00", "UTC", "2025-10-31", "intraday"),      # 09:30 EDT: the open itself
    ("2026-01-21 20:30:00", "UTC", "2026-01-21", "intraday"),      # 15:30 EST (winter: UTC-5)
    ("2026-01-21 21:00:00", "UTC", "2026-01-21", "after_close"),   # 16:00 EST: the close itself
    ("2025-11-28 18:30:00", "UTC", "2025-11-28", "after_close"),   # 13:30 EST, day after Thanksgiving closes 13:00
    ("2025-11-01 03:00:00", "UTC", "2025-10-31", "after_close"),   # 23:00 EDT the day before
    ("2025-10-31 20:22:00", "America/New_York", "2025-10-31", "after_close"),
])
def test_timestamps_map_to_nyse_sessions(stamp, tz, date, session):
    t = timestamp_timing("breakingthenews.net", stamp, tz)
    assert (str(t.event_date), t.event_time, t.review) == (date, session, ["inferred_time"])
    assert f"read as {tz}" in t.evidence[0]


def test_timestamp_evidence_says_whether_the_zone_assumption_matters():
    assert "same result if the stamp were US Eastern" in timestamp_timing("breakingthenews.net",
                                                                          "2025-10-31 20:22:00").evidence[1]
    assert "would be 2025-11-01" in timestamp_timing("breakingthenews.net", "2025-11-01 03:00:00").evidence[1]


def test_session_time_on_a_weekend_uses_regular_hours():
    ts = pd.Timestamp("2025-11-01 10:00", tz="America/New_York")
    assert session_time(ts) == "intraday"


# ---- de-duplication (SYNTHETIC inputs) ------------------------------------------------------------

SYN_RELEASE = ("[TITLE]Synthetica Bio Announces Pricing of Public Offering:\n[TEXT]\n"
               "BOSTON, Mar. 3, 2025 ({wire}) -- Synthetica Bio, Inc. (Nasdaq: SYNB), today announced the pricing "
               "of an underwritten public offering.\n[Source link]: https://{host}/2025/03/03/1/synb.html\n\n")


def test_same_release_on_two_wires_becomes_one_event_with_both_sources(tmp_path):
    f1 = tmp_path / "syn_feed_1.txt"
    f2 = tmp_path / "syn_feed_2.txt"
    f1.write_text(SYN_RELEASE.format(wire="GLOBE NEWSWIRE", host="globenewswire.example"))
    f2.write_text(SYN_RELEASE.format(wire="BUSINESS WIRE", host="businesswire.example"))
    ev, _ = import_digests([f1, f2])
    assert len(ev) == 1
    row = ev.iloc[0]
    assert row["ticker"] == "SYNB" and row["event_date"] == "2025-03-03"
    assert row["sources"] == "syn_feed_1.txt#1; syn_feed_2.txt#1"
    assert "businesswire.example" in row["notes"] and "dedup: merged syn_feed_2.txt#1" in row["evidence"]


def test_different_dates_or_types_stay_separate_and_undated_copies_merge(tmp_path):
    f1 = tmp_path / "syn_feed_1.txt"
    f1.write_text(SYN_RELEASE.format(wire="GLOBE NEWSWIRE", host="a.example")
                  + SYN_RELEASE.format(wire="GLOBE NEWSWIRE", host="b.example").replace("Mar. 3", "Mar. 9")
                  .replace("2025/03/03", "2025/03/09"))
    ev, _ = import_digests([f1])
    assert list(ev["event_date"]) == ["2025-03-03", "2025-03-09"]
    f2 = tmp_path / "syn_summaries.txt"
    para = "Synthetica Bio Prices Public Offering of Common Stock\n" + "The company priced an offering. " * 10
    f2.write_text(para + "\n\n" + para.replace("Common Stock", "Shares") + "\n")
    ev, _ = import_digests([f2])
    assert len(ev) == 1 and ev.iloc[0]["sources"].count("#") == 2 and ev.iloc[0]["event_date"] == ""


# ---- end to end on the three real digests, measured against seed_events.csv -----------------------

#: Seed rows whose event is a news item in one of the digests, with the digest item. The other 13
#: seed rows are not items of the digests: 7 Arcellx/Gilead rows from the historical case study
#: inside the Statifacts market-research release (month-level dates only; the release is skipped as
#: market research and its skipped row lists the companies), ONCY 2025-10-28 (echoed as context
#: only) and five ImmunityBio rows dated from outside sources (Sherwood, Business Wire).
IN_SCOPE = {
    "SEED-20251031-COSM-1": "c#5", "SEED-20251031-CRBP-1": "c#6", "SEED-20251031-PFE-1": "c#7",
    "SEED-20251031-MTSR-1": "c#7", "SEED-20251031-NBTX-1": "c#9", "SEED-20251101-PRIVDRAGON-1": "c#3",
    "SEED-20260108-ALLO-1": "a#1", "SEED-20260121-IBRX-1": "a#2", "SEED-20260112-ONCY-1": "a#3",
    "SEED-20260121-PRIVWUGEN-1": "b#2", "SEED-20260123-PRIVWUGEN-1": "b#3", "SEED-20260120-PRIVFDA-1": "b#4",
    "SEED-20260121-GMAB-1": "b#5", "SEED-20260121-ACLX-1": "b#6", "SEED-20260121-PRIVOPNA-1": "b#7",
    "SEED-20260120-PRIVOURO-1": "b#8", "SEED-20260122-TAK-1": "b#9",
}
#: digest_a has no dates at all, so its three rows have no date the import could reproduce.
NO_DATE_IN_DIGEST = {"SEED-20260108-ALLO-1", "SEED-20260121-IBRX-1", "SEED-20260112-ONCY-1"}


def _first_word(name: str) -> str:
    return re.findall(r"[a-z0-9]+", name.lower())[0]


def _match(draft: pd.DataFrame, seed: pd.DataFrame) -> list[tuple[pd.Series, pd.Series]]:
    """Pair candidates with in-scope seed rows: same first word of the company name (and same
    date when both have one), else the same date, type and subtype. Each row is used once."""
    pairs, used = [], set()
    for _, s in seed.iterrows():
        best = None
        for j, c in draft.iterrows():
            if j in used:
                continue
            same_co = _first_word(c["company"]) == _first_word(s["company"])
            date_ok = not c["event_date"] or c["event_date"] == s["event_date"]
            if same_co and (date_ok or c["event_type"] == s["event_type"]):
                best = j
                break
            if best is None and c["event_date"] == s["event_date"] and \
                    (c["event_type"], c["subtype"]) == (s["event_type"], s["subtype"]):
                best = j
        if best is not None:
            used.add(best)
            pairs.append((draft.loc[best], s))
    return pairs


def _metrics(draft: pd.DataFrame, seed: pd.DataFrame) -> dict[str, tuple[int, int]]:
    """(hits, total) per measure. Precision: over the draft's candidates (with a value);
    recall: over the in-scope seed rows where the digest contains the information."""
    pairs = _match(draft, seed)
    m: dict[str, tuple[int, int]] = {}
    m["events recall"] = (len(pairs), len(seed))
    m["events precision"] = (len(pairs), len(draft))
    m["company"] = (sum(_first_word(c["company"]) == _first_word(s["company"]) for c, s in pairs), len(pairs))
    with_t = [(c, s) for c, s in pairs if c["ticker"]]
    m["ticker precision"] = (sum(c["ticker"] == s["ticker"] for c, s in with_t), len(draft[draft["ticker"] != ""]))
    m["ticker recall"] = (sum(c["ticker"] == s["ticker"] for c, s in pairs if s["ticker"]),
                          int((seed["ticker"] != "").sum()))
    m["unlisted kept empty"] = (sum(c["ticker"] == "" for c, s in pairs if not s["ticker"]),
                                int((seed["ticker"] == "").sum()))
    dated = seed[~seed["event_id"].isin(NO_DATE_IN_DIGEST)]
    m["date precision"] = (sum(c["event_date"] == s["event_date"] for c, s in pairs if c["event_date"]),
                           int((draft["event_date"] != "").sum()))
    m["date recall"] = (sum(c["event_date"] == s["event_date"] for c, s in pairs if s["event_id"] in set(dated["event_id"])),
                        len(dated))
    m["event_type"] = (sum(c["event_type"] == s["event_type"] for c, s in pairs), len(pairs))
    m["subtype"] = (sum((c["event_type"], c["subtype"]) == (s["event_type"], s["subtype"]) for c, s in pairs), len(pairs))
    return m


def _seed_in_scope() -> pd.DataFrame:
    seed = pd.read_csv(FIX / "seed_events.csv", dtype=str, keep_default_na=False)
    return seed[seed["event_id"].isin(IN_SCOPE)].reset_index(drop=True)


def _report(label: str, m: dict) -> None:
    print(f"\nnews import vs seed_events.csv ({label})")
    for k, (h, n) in m.items():
        print(f"  {k:<22} {h:>3}/{n:<3} = {h / n if n else float('nan'):.3f}")


def test_import_reproduces_the_seed_events_measured():
    """Honest measure: the name map WITHOUT the rows taken from seed_events.csv (the target).

    Thresholds (each justified by the item that misses):
    * tickers: precision 1.0 (a wrong ticker poisons a study silently: zero tolerance); recall
      >= 9/11: ONCY (digest_a names "Oncolytics Biotech", no tag, not in the non-seed map) and
      MTSR (target named only "Metsera Inc.") stay empty and flagged no_ticker;
    * every unlisted company (Wugen, Ouro, Opna, Dragon Pharma, FDA) keeps an empty ticker;
    * dates: >= 13/14 in both directions: the FDA draft guidance item is dated 22 Jan in the
      newsletter (the trade article) while the guidance is from 20 Jan; that date carries
      confidence "low" and is flagged secondary_date, as every newsletter date is; the three
      digest_a items get no date;
    * company >= 16/17: the CHLA item names the trial site, not the sponsor (Wugen);
    * events and types: all 17 in-scope events found, none extra, types and subtypes all right
      (asserted >= 16/17 to leave room for one rule change without hiding a systematic fault).
    """
    names = bundled_names().without_sources("seed_events.csv")
    draft, skipped = import_digests(DIGESTS, name_map=names)
    seed = _seed_in_scope()
    m = _metrics(draft, seed)
    _report("name map without seed_events.csv", m)
    assert m["events recall"] == (17, 17) and m["events precision"] == (17, 17)
    assert m["ticker precision"][0] == m["ticker precision"][1] == 9
    assert m["ticker recall"][0] >= 9 and m["ticker recall"][1] == 11
    assert m["unlisted kept empty"] == (6, 6)
    assert m["date precision"][0] >= 13 and m["date precision"][1] == 14
    assert m["date recall"][0] >= 13 and m["date recall"][1] == 14
    assert m["company"][0] >= 16
    assert m["event_type"][0] >= 16 and m["subtype"][0] >= 16
    # what is missing is flagged, never guessed
    undated = draft[draft["event_date"] == ""]
    assert len(undated) == 3 and undated["needs_review"].str.contains("no_date").all()
    assert (draft.loc[draft["ticker"] == "", "needs_review"].str.contains("no_ticker")).all()
    wrong_dates = [(c, s) for c, s in _match(draft, seed) if c["event_date"] and c["event_date"] != s["event_date"]]
    assert wrong_dates and all(c["confidence"] == "low" and "secondary_date" in c["needs_review"]
                               for c, _ in wrong_dates)
    pfe = draft[draft["ticker"] == "PFE"].iloc[0]
    assert pfe["event_time"] == "after_close" and "inferred_time" in pfe["needs_review"]
    # non-events are listed with reasons, not dropped
    reasons = " ".join(skipped["reason"])
    assert reasons.count("market-research release") == 2 and "no company named" in reasons
    assert {"eli lilly", "akari therapeutics", "foghorn therapeutics"} <= set(skipped["mentions"])
    cart = skipped[skipped["title"].str.startswith("CAR T-Cell")].iloc[0]
    assert "Arcellx" in cart["mentions"] and "Gilead" in cart["mentions"]


def test_import_with_the_bundled_name_map_measured():
    """With the bundled map (which includes seed_events.csv names, so partly circular) the two
    tickers missing above resolve as well; reported for comparison."""
    draft, _ = import_digests(DIGESTS)
    m = _metrics(draft, _seed_in_scope())
    _report("bundled name map, includes seed_events.csv", m)
    assert m["ticker precision"][0] == m["ticker precision"][1] == 11 and m["ticker recall"] == (11, 11)


def test_draft_validates_except_flagged_rows_and_runs_once_accepted(tmp_path):
    out = tmp_path / "events" / "draft.csv"
    r = runner.invoke(app, ["news", "import", *map(str, DIGESTS), "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "candidates\t17" in r.stdout and "skipped\t14" in r.stdout
    skipped = pd.read_csv(tmp_path / "events" / "draft.skipped.csv", keep_default_na=False)
    assert (skipped["reason"] != "").all()
    # the undated rows are reported by validate with row and field
    draft = read_event_csv(out)
    problems = validate_events(draft, str(out))
    undated_rows = [i + 1 for i in range(len(draft)) if draft.loc[i, "event_date"] == ""]
    assert {(p.row, p.field) for p in problems} == {(i, "event_date") for i in undated_rows}
    r = runner.invoke(app, ["events", "validate", str(out)])
    assert r.exit_code == 1 and f"row {undated_rows[0]}, field 'event_date'" in r.output
    # accept: fill the dates a person looked up (here: from the seed file), clear needs_review
    seed = pd.read_csv(FIX / "seed_events.csv", dtype=str, keep_default_na=False)
    looked_up = {"ALLO": "2026-01-08", "IBRX": "2026-01-21", "ONCY": "2026-01-12"}
    assert set(draft.loc[draft["event_date"] == "", "ticker"]) == set(looked_up)
    assert set(looked_up.values()) <= set(seed["event_date"])
    draft.loc[draft["event_date"] == "", "event_date"] = draft["ticker"].map(looked_up)
    draft["needs_review"] = ""
    accepted = tmp_path / "events" / "accepted.csv"
    draft.to_csv(accepted, index=False)
    r = runner.invoke(app, ["events", "validate", str(accepted)])
    assert r.exit_code == 0, r.output
    loaded = load_events(accepted)
    assert {"needs_review", "evidence", "sources"} <= set(loaded.columns)
    res = tmp_path / "res"
    r = runner.invoke(app, ["run", str(accepted), "--out", str(res), "--quiet"])
    assert r.exit_code == 0, r.output
    ev = pd.read_csv(res / "events.csv", keep_default_na=False)
    assert len(ev) == 17 and (ev.loc[ev["ticker"] == "", "status"] == "unmapped").all()
    assert (ev["status"] == "ok").sum() >= 6


def test_review_prints_flagged_candidates_without_prompting(tmp_path):
    out = tmp_path / "draft.csv"
    runner.invoke(app, ["news", "import", *map(str, DIGESTS), "--out", str(out)])
    draft = read_event_csv(out)
    n_flag = int((draft["needs_review"] != "").sum())
    r = runner.invoke(app, ["events", "review", str(out)])
    assert r.exit_code == 0, r.output
    assert r.stdout.count("------\n") == n_flag and f"[1/{n_flag}]" in r.stdout
    assert "no_date: no date in the digest" in r.stdout and "evidence:" in r.stdout
    r = runner.invoke(app, ["events", "review", str(out), "--all"])
    assert r.stdout.count("------\n") == len(draft)


def test_cli_names_and_rules_options(tmp_path):
    names = tmp_path / "names.csv"
    names.write_text("name,ticker\nOncolytics Biotech Inc.,ONCY\nAcme Corp,not a ticker!\n")
    r = runner.invoke(app, ["news", "import", str(A), "--out", str(tmp_path / "d.csv"), "--names", str(names)])
    assert r.exit_code == 1 and "row 2, field 'ticker'" in r.output
    names.write_text("name,ticker\nOncolytics Biotech Inc.,ONCY\nAllogene Therapeutics,\n")
    rules = tmp_path / "rules.csv"
    rules.write_text("rule_id,action,event_type,subtype,pattern,confidence,priority\n"
                     "squeeze-title,event,short_squeeze,possible_squeeze,shares triple,high,99\n")
    r = runner.invoke(app, ["news", "import", str(A), "--out", str(tmp_path / "d.csv"), "--names", str(names),
                            "--rules", str(rules)])
    assert r.exit_code == 0, r.output
    d = read_event_csv(tmp_path / "d.csv").set_index("company")
    assert d.loc["Oncolytics Biotech", "ticker"] == "ONCY"
    # the user's row says Allogene is unlisted but the page's own "About ALLO" names ALLO: flagged, not picked
    assert d.loc["Allogene Therapeutics", "ticker"] == ""
    assert "ambiguous_ticker" in d.loc["Allogene Therapeutics", "needs_review"]
    assert d.loc["ImmunityBio", "subtype"] == "possible_squeeze"


def test_missing_or_empty_digest_is_a_one_line_error(tmp_path):
    r = runner.invoke(app, ["news", "import", str(tmp_path / "nope.txt"), "--out", str(tmp_path / "d.csv")])
    assert r.exit_code == 1 and "file not found" in r.output
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    r = runner.invoke(app, ["news", "import", str(A), str(empty), "--out", str(tmp_path / "d.csv")])
    assert r.exit_code == 1 and f"error: no news items found in {empty}" in r.output
    assert not (tmp_path / "d.csv").exists()


def test_stated_zone_stamp_and_other_wire_datelines():
    t = find_timing("January 21, 2026 07:00 AM Eastern Standard Time\nST. LOUIS--(BUSINESS WIRE)--Wugen, Inc. today")
    assert (t.event_date, t.event_time, t.confidence, t.review) == (dt.date(2026, 1, 21), "pre_market", "high", [])
    t = find_timing("Oct. 31, 2025 at 1:05 PM PDT -- news")                 # 16:05 EDT
    assert (t.event_date, t.event_time) == (dt.date(2025, 10, 31), "after_close")
    t = find_timing("SOUTH SAN FRANCISCO, Calif., Jan. 20, 2026 /PRNewswire/ -- Ouro Medicines today")
    assert (t.event_date, t.confidence) == (dt.date(2026, 1, 20), "medium")
    from eventstudy.news.resolve import dateline_company
    assert dateline_company("Jan. 20, 2026 /PRNewswire/ -- Ouro Medicines, a clinical-stage company") == "Ouro Medicines"
    assert dateline_company("ST. LOUIS--(BUSINESS WIRE)--Wugen, Inc. today announced") == "Wugen, Inc."
    assert dateline_company("Ottawa, Oct. 30, 2025 (GLOBE NEWSWIRE) -- According to Statifacts, the") == ""


def test_review_prompts_between_screens_on_a_terminal(tmp_path, monkeypatch):
    from eventstudy import cli_news

    out = tmp_path / "draft.csv"
    runner.invoke(app, ["news", "import", str(A), "--out", str(out)])   # 3 undated candidates

    class TTY:
        def isatty(self):
            return True

    monkeypatch.setattr(cli_news.sys, "stdin", TTY())
    answers = iter(["", "q"])
    monkeypatch.setattr(cli_news.typer, "prompt", lambda *a, **k: next(answers))
    shown: list[str] = []
    monkeypatch.setattr(cli_news.typer, "echo", lambda msg="", **k: shown.append(str(msg)))
    cli_news.review(out, show_all=False)
    assert sum(s.startswith("[") for s in shown) == 2            # Enter after the 1st, 'q' after the 2nd


def test_newsletter_item_and_the_release_from_another_digest_are_one_event(tmp_path):
    """SYNTHETIC feed dump carrying a release for the real newsletter's Ouro item, dated two days
    earlier (as newsletters trail releases): one event, the release's date, both sources."""
    feed = tmp_path / "syn_feed.txt"
    feed.write_text("[TITLE]Ouro Medicines Receives FDA Fast Track Designation for Gamgertamig:\n[TEXT]\n"
                    "SOUTH SAN FRANCISCO, Calif., Jan. 18, 2026 /PRNewswire/ -- Ouro Medicines, a private "
                    "company, today announced Fast Track designation.\n[Source link]: https://syn.example/ouro\n")
    ev, _ = import_digests([B, feed])
    ouro = ev[ev["company"].str.startswith("Ouro")]
    assert len(ouro) == 1
    row = ouro.iloc[0]
    assert row["event_date"] == "2026-01-18" and row["confidence"] == "medium"
    assert row["sources"] == "syn_feed.txt#1; digest_b_2026-01-hematology.txt#8"
    assert "merged source(s) said 2026-01-20" in row["evidence"]
    assert "secondary_date" not in row["needs_review"]
