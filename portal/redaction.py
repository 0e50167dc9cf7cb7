"""Automatic redaction of free text (survey comments) before anyone sees it.

``redact(text)`` replaces direct identifiers with bracketed tags:

    [name] [NHS number] [date] [phone] [email] [address] [number]

It errs on the side of redacting: a lost word in a comment costs little, a leaked name or NHS number
costs a family its privacy. The order of the passes matters: e-mail addresses and digit runs go first
(they contain characters the later passes would split), then dates, addresses and postcodes, and names
last, when only words are left.

Names are the hard part. Three kinds of evidence are combined:
  * name lists (``portal/data/first_names.txt``, ``surnames.txt``) of common UK first names and surnames;
  * cue words: a capitalised word after "my son", "called", "named", "Dr", "Mrs", "I'm", ... is a name,
    and so is one signing off a comment ("- Sarah", "Thanks, Sarah");
  * shape: a surname next to a first name, or a capitalised word next to a known name, is a name too.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

_DATA_DIR = Path(__file__).resolve().parent / "data"

NAME = "[name]"
NHS_NUMBER = "[NHS number]"
DATE = "[date]"
PHONE = "[phone]"
EMAIL = "[email]"
ADDRESS = "[address]"
NUMBER = "[number]"
TAGS = (NAME, NHS_NUMBER, DATE, PHONE, EMAIL, ADDRESS, NUMBER)


def _load_words(filename: str) -> frozenset[str]:
    words: set[str] = set()
    for line in (_DATA_DIR / filename).read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            continue
        words.update(w.lower() for w in line.split())
    return frozenset(words)


@lru_cache(maxsize=1)
def first_names() -> frozenset[str]:
    return _load_words("first_names.txt")


@lru_cache(maxsize=1)
def surnames() -> frozenset[str]:
    return _load_words("surnames.txt")


# Everyday words that are also first names or could follow a cue word. In lower case they are words, not
# names; capitalised at the start of a sentence, the first group is usually a word too ("Will they...").
SENTENCE_START_WORDS = frozenset(
    "will may hope can grace joy faith mark rose pat sue bill ray dawn frank max rich drew miles guy nick "
    "penny olive summer april june jack".split()
)
MONTHS = {
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4, "april": 4, "may": 5,
    "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8, "sep": 9, "sept": 9, "september": 9,
    "oct": 10, "october": 10, "nov": 11, "november": 11, "dec": 12, "december": 12,
}
# Words before a month name that show it is a month, not a person ("in June", "since April").
MONTH_CONTEXT = frozenset(
    "in since by until till from last next this of early late mid end start beginning before after during "
    "each every through throughout around".split()
)
COMMON_WORDS = frozenset(
    """a about above after again against all also always am an and any are as at back bad be because been
    before being below best better between both but by can cannot could day did do does doing done down
    during each even ever every few first for from further get go going good got great had has have having
    he her here hers him his how i if in into is it its just know last less like little long lot made make
    many me more most much my need never new next no nor not now of off often old on once one only or other
    our out over own people really right said same say see she should since so some still such take than
    that the their them then there these they thing this those though through time to too under until up
    us very was way we well went were what when where which while who whom why will with without would yet
    you your yours yes thanks thank please sorry hello hi dear regards love cheers best wishes kind many
    team staff service services school nurse doctor clinic therapist teacher mum dad mother father son
    daughter child children boy girl baby parent parents carer family wait waiting weeks months years
    help helped helpful support supported amazing brilliant lovely great excellent poor awful terrible
    happy unhappy worried long short appointment appointments referral assessment plan ehcp sen send
    autism adhd camhs gp hospital ward letter call phone email still again finally eventually who
    hope grace joy faith mark rose pat sue bill ray dawn amber ruby jack april june rich jay max frank bob
    robin holly ivy lily violet poppy iris jade pearl hazel heather olive kay penny drew miles nick guy
    dale glen will may summer""".split()
)

_WORD = r"[A-Za-zÀ-ÖØ-öø-ÿ][A-Za-zÀ-ÖØ-öø-ÿ'’\-]*"
_CAP_WORD = r"[A-ZÀ-ÖØ-Þ][A-Za-zÀ-ÖØ-öø-ÿ'’\-]*"
_MONTH_RE = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DAY_RE = r"(?:[0-2]?\d|3[01])(?:st|nd|rd|th)?"
_YEAR_RE = r"(?:(?:19|20)\d{2}|'\d{2})"

_EMAIL = re.compile(
    r"[A-Za-z0-9._%+\-]+\s*(?:@|\(at\)|\[at\]|\sat\s)\s*[A-Za-z0-9\-]+(?:\s*(?:\.|\(dot\)|\[dot\]|\sdot\s)\s*"
    r"[A-Za-z0-9\-]+)*\s*(?:\.|\(dot\)|\[dot\]|\sdot\s)\s*(?:com|org|net|uk|co|gov|nhs|ac|edu|info|me|io)\b",
    re.IGNORECASE,
)
_SIMPLE_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
_HANDLE = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{2,}")
_URL = re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)

_DATES = [
    # 03/04/2015, 3-4-15, 03.04.2015, 3 / 4 / 2015
    re.compile(r"(?<![\d/])(?:[0-2]?\d|3[01])\s?[/.\-]\s?(?:0?[1-9]|1[0-2])\s?[/.\-]\s?(?:\d{4}|\d{2})(?![\d/])"),
    # 2015-04-03, 2015/04/03
    re.compile(r"(?<!\d)(?:19|20)\d{2}[/.\-](?:0?[1-9]|1[0-2])[/.\-](?:[0-2]?\d|3[01])(?!\d)"),
    # 3rd April 2015, the 3rd of April, 2015, 3 Apr '15, 3rd April
    re.compile(rf"\b(?:the\s+)?{_DAY_RE}(?:\s+of)?[\s\-]+{_MONTH_RE}(?:,?[\s\-]+{_YEAR_RE})?(?![\w])",
               re.IGNORECASE),
    # April 3rd 2015, April 3, 2015
    re.compile(rf"\b{_MONTH_RE}\s+{_DAY_RE}(?:,?\s+{_YEAR_RE})?\b", re.IGNORECASE),
]
# born in April 2015 / DOB: April 2015 / birthday is in May (the cue word itself is kept)
_BIRTH_DATE = re.compile(
    rf"(?P<cue>\b(?:born|birthday|birth|b'day|dob|d\.o\.b)\.?(?:\s*(?:on|in|is|was|:|-))*\s*)"
    rf"(?:the\s+)?(?:{_MONTH_RE}\s*,?\s*{_YEAR_RE}|{_MONTH_RE}|(?:19|20)\d{{2}})(?![\w])",
    re.IGNORECASE,
)

# A run of digits with single separators between them: phone numbers, NHS numbers, other long numbers.
# Digits spelled out ("nine four three ...") carry a number just as well as the digits do.
_DIGIT_WORD = r"(?:zero|oh|nought|one|two|three|four|five|six|seven|eight|nine)"
_SPELLED_DIGITS = re.compile(rf"\b{_DIGIT_WORD}(?:[\s,-]+{_DIGIT_WORD}){{6,}}\b", re.IGNORECASE)
# Cyrillic and Greek letters that look Latin: a name typed with one of them ("Оliver" with a Cyrillic О)
# must not slip past the name lists. Folded only inside words that also hold Latin letters.
_LOOKALIKES = str.maketrans("АВЕКМНОРСТХаеорсухіјΑΒΕΖΗΙΚΜΝΟΡΤΥΧοі", "ABEKMHOPCTXaeopcyxijABEZHIKMNOPTYXoi")
_MIXED_SCRIPT_WORD = re.compile(r"\w*[A-Za-z]\w*")
_DIGIT_RUN = re.compile(r"(?<![\w])(?:\+\s?\d{1,3}\s?(?:\(0\)\s?)?)?\(?\d(?:(?:[ \-.\u00a0]|\)\s?){0,2}\d)+(?![\w])")

_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", re.IGNORECASE)
_STREET_TYPES = (
    r"street|st|road|rd|avenue|ave|lane|ln|close|cl|drive|dr|way|crescent|cres|court|ct|place|pl|grove|"
    r"gardens|gdns|terrace|tce|hill|park|mews|row|square|sq|view|walk|rise|green|parade|boulevard|vale|"
    r"fold|meadows?|croft|chase|wharf|yard|bank|brow|gate|hollow|crest|approach|circus|esplanade|broadway"
)
_ADDRESSES = [
    # Flat 3, 14 Mill Lane / 22a Acacia Avenue / 7 St John's Road
    re.compile(
        rf"\b(?:(?:flat|apartment|apt|unit)\s*\d+[a-z]?\s*,?\s*)?\d{{1,4}}[a-z]?\s*,?\s+"
        rf"(?:[A-Za-z'’\.\-]+\s+){{1,3}}(?:{_STREET_TYPES})\b\.?",
        re.IGNORECASE,
    ),
    # Mill Lane, Acacia Avenue (capitalised, no house number; the short forms need a number to count)
    re.compile(
        r"\b(?:[A-Z][a-z'’\-]+\s+){1,2}(?:Street|Road|Avenue|Lane|Close|Drive|Crescent|Grove|Gardens|"
        r"Terrace|Mews|Way|Walk|Rise|Parade|Boulevard|Croft|Square)\b"
    ),
    re.compile(r"\b(?:flat|apartment|apt)\s*\d+[a-z]?\b", re.IGNORECASE),
]

_TITLES = frozenset("mr mrs ms miss mx dr doctor prof professor nurse sister matron rev".split())
_RELATIONS = frozenset(
    "son daughter child kid boy girl grandson granddaughter grandchild nephew niece brother sister husband "
    "wife partner baby twins twin stepson stepdaughter toddler teenager".split()
)
_RELATION_OWNERS = frozenset("my our his her their your".split())
# People named by their job: "our keyworker Tariq", "the SENCo Mr Abdullahi", "his consultant, Dr Rao".
_ROLE_CUES = frozenset(
    "keyworker worker senco therapist teacher consultant paediatrician paediatrician nurse caseworker officer "
    "coordinator co-ordinator practitioner psychologist physio physiotherapist ot gp doctor dentist visitor "
    "manager assistant ta head headteacher headmaster headmistress tutor mentor advocate counsellor "
    "psychiatrist clinician surgeon receptionist specialist lead".split()
)
_NAMING_CUES = ("called", "named", "name is", "name's", "names are", "known as", "i'm", "i am", "this is",
                "mum of", "mom of", "dad of", "mother of", "father of", "parent of", "carer of", "carer for",
                "mum to", "dad to", "signed", "from", "with", "and", "to", "by")
# Cues strong enough that a lower-case word after them is a name unless it is an everyday word.
_STRONG_CUES = ("called", "named", "name is", "name's", "known as")
_SIGN_OFF = re.compile(
    rf"(?:^|(?<=[\s,.!;:)]))(?:[-–—~]+|(?:many\s+|kind\s+|best\s+)?(?:thanks|thank\s+you|regards|wishes|cheers|love|"
    rf"from|signed|x+))\s*[,:]?\s*(?P<name>{_CAP_WORD}(?:\s+(?:{_CAP_WORD}|[A-Z]\.?)){{0,2}})"
    rf"\s*(?:\([^)]*\))?\s*[.!x]*\s*$"
)
_SENTENCE_END = re.compile(r"[.!?\n:;]\s*[\"'“‘(\[]*\s*$")


def redact(text: str) -> str:
    """Return ``text`` with names, NHS numbers, dates, phones, e-mails and addresses replaced by tags."""
    if not text:
        return text or ""
    out = _MIXED_SCRIPT_WORD.sub(lambda m: m.group(0).translate(_LOOKALIKES), str(text))
    out = _SPELLED_DIGITS.sub(lambda m: NHS_NUMBER if len(re.findall(_DIGIT_WORD, m.group(0), re.I)) == 10
                              else PHONE, out)
    out = _EMAIL.sub(EMAIL, out)
    out = _SIMPLE_EMAIL.sub(EMAIL, out)
    out = _URL.sub(ADDRESS, out)
    out = _HANDLE.sub(NAME, out)
    for pattern in _DATES:
        out = pattern.sub(DATE, out)
    out = _BIRTH_DATE.sub(lambda m: m.group("cue") + DATE, out)
    out = _DIGIT_RUN.sub(_classify_digits, out)
    out = _POSTCODE.sub(ADDRESS, out)
    for pattern in _ADDRESSES:
        out = pattern.sub(ADDRESS, out)
    out = _redact_names(out)
    return _merge_tags(out)


def _classify_digits(match: re.Match) -> str:
    raw = match.group(0)
    digits = re.sub(r"\D", "", raw)
    if len(digits) < 7:
        return raw
    if raw.lstrip("( ").startswith("+") or digits.startswith("44") and len(digits) >= 12:
        return PHONE
    if digits.startswith("0") and 10 <= len(digits) <= 11:
        return PHONE
    if len(digits) == 10:
        return NHS_NUMBER
    if digits.startswith("0"):
        return PHONE
    return NUMBER


def _redact_names(text: str) -> str:
    tokens = [(m.start(), m.end(), m.group(0)) for m in re.finditer(_WORD, text)]
    if not tokens:
        return text
    names = first_names()
    family = surnames()
    flagged = [False] * len(tokens)

    def bare(word: str) -> str:
        return re.sub(r"['’]s$", "", word).lower()

    def parts(word: str) -> list[str]:
        return [p for p in re.split(r"[\-'’]", bare(word)) if p]

    def is_cap(word: str) -> bool:
        return word[:1].isupper()

    def sentence_start(i: int) -> bool:
        if i == 0:
            return not text[: tokens[0][0]].strip() or bool(_SENTENCE_END.search(text[: tokens[0][0]]))
        gap = text[tokens[i - 1][1]: tokens[i][0]]
        return bool(_SENTENCE_END.search(gap)) or not text[: tokens[i][0]].strip()

    def gap_before(i: int) -> str:
        return text[tokens[i - 1][1]: tokens[i][0]] if i > 0 else ""

    def plain_gap(i: int) -> bool:
        """Only spaces (or a comma or bracket) between token i-1 and i: they may belong together."""
        return i > 0 and re.fullmatch(r"[\s,()\"“”]*", gap_before(i)) is not None and "\n" not in gap_before(i)

    def month_context(i: int) -> bool:
        word = bare(tokens[i][2])
        if word not in MONTHS:
            return False
        prev = bare(tokens[i - 1][2]) if i > 0 else ""
        following = text[tokens[i][1]: tokens[i][1] + 6]
        return prev in MONTH_CONTEXT or bool(re.match(r"\s*\d", following))

    def looks_like_name(i: int, after_cue: bool = False, strong: bool = False) -> bool:
        word = tokens[i][2]
        low = bare(word)
        if len(low) < 2 or word.isupper() and len(word) > 1 and low not in names:
            return False  # acronyms (ASD, CAMHS, NHS) are not names
        if is_cap(word):
            if after_cue:
                return low not in COMMON_WORDS or low in names
            if any(p in names for p in parts(word)):
                if month_context(i):
                    return False
                if sentence_start(i) and low in SENTENCE_START_WORDS:
                    return False
                return True
            return False
        # lower case: a name only if it is on the list (or after a strong cue) and not an everyday word
        if low in COMMON_WORDS or low in MONTHS:
            return False
        return low in names or (strong and low.isalpha())

    # 1. name lists
    for i in range(len(tokens)):
        if looks_like_name(i):
            flagged[i] = True

    lowered = [bare(t[2]) for t in tokens]

    # 2. cue words: titles, relations ("my son Jake"), naming phrases ("called Jake")
    for i in range(len(tokens)):
        low = lowered[i]
        nxt = i + 1
        strong = False
        cue = False
        if low in _TITLES and nxt < len(tokens):
            cue = is_cap(tokens[i][2]) or low not in ("doctor", "nurse", "sister")
            strong = True
        elif low in _RELATIONS and i > 0 and lowered[i - 1] in _RELATION_OWNERS:
            cue = True
        elif low in _ROLE_CUES and nxt < len(tokens) and is_cap(tokens[nxt][2]):
            cue = True
        else:
            for phrase in _NAMING_CUES:
                words = phrase.split()
                start = i - len(words) + 1
                if start >= 0 and lowered[start: i + 1] == words:
                    cue = True
                    strong = phrase in _STRONG_CUES
                    break
        if not cue:
            continue
        j = nxt
        taken = 0
        while j < len(tokens) and taken < 3 and (
                plain_gap(j) or j == nxt and low in _TITLES and re.fullmatch(r"\.\s*", gap_before(j))):
            word = tokens[j][2]
            if lowered[j] in _TITLES:
                break  # "Our SENCo Mr Abdullahi": the title is a cue of its own, not a name
            if re.fullmatch(r"[A-Z]\.?", word) and word != "I" and low in _TITLES:  # "Dr J. Smith"
                flagged[j] = True
            elif flagged[j] or looks_like_name(j, after_cue=True, strong=strong and taken == 0):
                if taken == 0 and lowered[i] in ("and", "with", "to", "by", "from") \
                        and not (lowered[j] in names or flagged[j]):
                    break  # weak cues only extend to words already known to be names
                if taken == 0 and lowered[i] in ("and", "with", "to", "by", "from") and not is_cap(word):
                    break
                flagged[j] = True
            else:
                break
            taken += 1
            j += 1

    # 3. shape: a capitalised word next to a flagged name, or a surname beside a capitalised word
    changed = True
    while changed:
        changed = False
        for i in range(len(tokens)):
            if flagged[i]:
                continue
            word = tokens[i][2]
            is_surname = any(p in family for p in parts(word))
            if is_surname and not is_cap(word) or word.isupper() and len(word) > 1 and is_surname:
                # "AMELIA HUGHES", "amelia hughes": a known surname right after a name, whatever its case
                if i > 0 and flagged[i - 1] and plain_gap(i) and "," not in gap_before(i) \
                        and lowered[i] not in COMMON_WORDS:
                    flagged[i] = changed = True
                continue
            if not is_cap(word) or (word.isupper() and len(word) > 1) or (
                    lowered[i] in COMMON_WORDS and not is_surname):  # "Oliver Ward" is a name, "the Ward" is not
                continue
            left = i > 0 and flagged[i - 1] and plain_gap(i) and "," not in gap_before(i)
            right = i + 1 < len(tokens) and flagged[i + 1] and plain_gap(i + 1) and "," not in gap_before(i + 1)
            if left and (is_surname or not sentence_start(i)):
                flagged[i] = changed = True
            elif right and (is_surname or lowered[i] in names) and not sentence_start(i + 1):
                flagged[i] = changed = True
            elif is_surname and i > 0 and is_cap(tokens[i - 1][2]) and plain_gap(i) and not sentence_start(i) \
                    and lowered[i - 1] not in COMMON_WORDS and not tokens[i - 1][2].isupper():
                flagged[i] = flagged[i - 1] = changed = True

    # 4. a capitalised word followed by an age: "Oliver, aged 7" / "Ella (9)"
    for i, (_, end, word) in enumerate(tokens):
        if not flagged[i] and is_cap(word) and lowered[i] not in COMMON_WORDS and not word.isupper():
            if re.match(r"\s*(?:,\s*|\(\s*)(?:aged?\s*)?\d{1,2}\b|\s+(?:aged?|is)\s+\d{1,2}\b", text[end:end + 12]):
                if not sentence_start(i) or lowered[i] in names:
                    flagged[i] = True

    pieces = []
    last = 0
    for flag, (start, end, word) in zip(flagged, tokens):
        if flag:
            suffix = re.search(r"['’]s$", word)
            pieces.append(text[last:start])
            pieces.append(NAME + (suffix.group(0) if suffix else ""))
            last = end
    pieces.append(text[last:])
    out = "".join(pieces)

    # 5. sign-offs at the very end: "- Sarah", "Thanks, Sarah J", "Love, Ella x"
    match = _SIGN_OFF.search(out)
    if match and match.group("name").lower() not in COMMON_WORDS:
        out = out[: match.start("name")] + NAME + out[match.end("name"):]
    return out


def _merge_tags(text: str) -> str:
    """'[name] [name]' reads as two people; one tag per run keeps the comment readable."""
    for tag in TAGS:
        escaped = re.escape(tag)
        text = re.sub(rf"{escaped}(?:[ ,]*{escaped})+", tag, text)
    return text
