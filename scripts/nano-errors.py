#!/usr/bin/env python3
"""Where muse-nano's thinking goes wrong, read from a `muse eval --report` file.

    scripts/nano-errors.py build/eval/v4/standard-thinking.json [more reports...]

For each mode in each report it prints:
  1. every worked step the model wrote ("A op B: columns..., so A op B = C" or "A op B = C"), checked
     against the true result, by operation and form: + - * each split into written-out columns and
     one-shot facts, subtraction also by whether a column borrows, division by whether the quotient
     has one digit or several;
  2. every wrong answer's first cause: the first wrong worked step (by the same classes), a question
     number the reasoning never mentions ("misread"), or, for lists, the kind of question (sort, count,
     max/min, compare). Sorts written as counting sorts (one line per number, "86: 5 is not; 99 is
     greater, count 1; ... So place 2 is 86.", then "In order: ...") are checked piece by piece: the
     line's copy of the list, each comparison, each count, each place, and the gathering; bucket sorts
     ("Tens 3: 37, 31, so 31, 37.", a big bucket bucketed again by the next place) by each bucket's
     numbers, each bucket's order and each join; round sorts ("Round 2, smallest, taken C: A 37 first;
     B 8 is less than 37, best B 8; C taken. Take B 8. Sorted: 4, 8.") by the names, the taken names
     carried, each walk, taken mark, value, comparison, best, take, the carried list and the order; bound
     sorts ("Round 2, smallest above 4: A 37 first; B 8 is less than 37, best 8; C 4 is not above. Take 8,
     count 1. Sorted 2 of 4: 4, 8.") by the bound copied, each walk, value, bound judged, comparison, best,
     copies counted, take, count, the carried list and its count. Divisions
     written as walks up the divisor's multiples or by repeated subtraction are checked the same way
     (where each partial dividend starts, each multiple or subtraction and count, each stop, each
     quotient digit, each remainder).
The arithmetic is checked exactly; the classes are heuristics over the trace formats of
src/train/tasks_*.cpp (docs/tasks.md), meant for reading a model's errors, not for scoring it.
"""
import json
import re
import sys
from collections import Counter, defaultdict

# A step "A op B = C" or "A op B: columns, so A op B = C" that is not part of a longer expression.
WORKED = re.compile(r"(?<![-+*/(] )(?<![\d(])(\d+) ([-+*/]) (\d+)(?:: ([^\n]*?), so \1 \2 \3)? = (\d+)")


def worked_steps(text):
    """The worked steps of a trace, leaving out the closing lines that only repeat earlier ones."""
    for line in text.split("\n"):
        if line.startswith("Let me double-check"):
            continue
        yield from WORKED.finditer(line)


def true_value(a, op, b):
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    return a // b if b and a % b == 0 else None


def borrows(a, b):
    """Whether the written subtraction a - b (a >= b) borrows in some column."""
    while b:
        if a % 10 < b % 10:
            return True
        a //= 10
        b //= 10
    return False


def step_class(a, op, b, worked):
    form = "columns" if worked else "one-shot"
    if op == "-":
        if a < b:
            return "- below zero"
        return f"- {form}, {'borrows' if borrows(a, b) else 'no borrow'}"
    if op == "/":  # by the operands, so that traces of either division form compare
        return f"/ {'several digits' if a >= 10 * b else 'one digit'}"
    return f"{op} {form}"


SORT_LINE = re.compile(r"^(\d+):((?: [^;.]+;)* [^;.]+)\. So place (\d+) is (\d+)\.$")
SORT_PART = re.compile(r"^(\d+) is (it|not|less|greater|equal)(?:, count (\d+))?$")
GATHER = re.compile(r"place (\d+) is (\d+)")
# The bucket sort (session 12): "Tens 3: 37, 31, so 31, 37." / "Tens 4: none.", then "So the order is ...".
BUCKET = re.compile(r"^([A-Z][a-z]+(?: [a-z]+)?) (\d): (none|[\d, ]+?)(?:, so ([\d, ]+))?\.$")
ORDER = re.compile(r"^So the order is ([\d, ]+)\.$")
# Session 13: each level of buckets starts with every number's digit there ("The tens digits: 37 has 3,
# 8 has 0.").
SCAN = re.compile(r"^The [a-z]+ digits: (.*)\.$")
SCAN_PART = re.compile(r"^(\d+) has (\d)$")
# A big bucket above the tens place is bucketed again by the next place (session 13):
# "Hundreds 0: 4, 26, 3, 13. Let me sort them by the tens digit." ... "So hundreds 0 gives 26, 13, 4, 3."
NEST = re.compile(r"^[A-Z][a-z]+ (\d): ([\d, ]+)\. Let me sort them by the [a-z]+ digit\.$")
NEST_CLOSE = re.compile(r"^So [a-z]+ \d gives ([\d, ]+)\.$")
# The round sort (session 15): "Let me name the numbers: A is 37, B is 8.", then per round
# "Round 2, smallest, taken C: A 37 first; B 8 is less than 37, best B 8; C taken; D 70 is not less than 8.
# Take B 8. Sorted: 4, 8." (stage 17's first form had no "smallest" and said "is greater than" where it did
# not take; its second had no "taken C")
NAMES = re.compile(r"^Let me name the (?:(\d+) )?numbers: (.*)\.$")
ROUND = re.compile(r"^Round (\d+)(?:, (?:smallest|largest))?(?:, taken (none|[A-Z, ]+))?: (.*)\. Take ([A-Z]) (\d+)\. "
                   r"Sorted: ([\d, ]+)\.$")
R_TAKEN = re.compile(r"^([A-Z]) taken$")
R_FIRST = re.compile(r"^([A-Z]) (\d+) first$")
R_COMPARE = re.compile(r"^([A-Z]) (\d+) is ((?:not )?(?:greater than|less than)|equal to) (\d+)(?:, best ([A-Z]) (\d+))?$")
# The bound sort (session 16): "Let me name the 4 numbers: A is 37, B is 8, C is 4, D is 70.", then per round
# "Round 2, smallest above 4: A 37 first; B 8 is less than 37, best 8; C 4 is not above; D 70 is not less
# than 8. Take 8, count 1. Sorted 2 of 4: 4, 8." (copies: "E 8 is equal to 8, count 2")
B_ROUND = re.compile(r"^Round (\d+), (smallest|largest)(?: (above|below) (\d+))?: (.*)\. Take (\d+), count (\d+)\. "
                     r"Sorted (\d+) of (\d+): ([\d, ]+)\.$")
B_FAIL = re.compile(r"^([A-Z]) (\d+) is not (above|below)$")
B_COMPARE = re.compile(r"^([A-Z]) (\d+) is (not )?(less|greater) than (\d+)(?:, best (\d+))?$")
B_EQUAL = re.compile(r"^([A-Z]) (\d+) is equal to (\d+), count (\d+)$")


def numbers(text):
    return [int(x) for x in re.findall(r"\d+", text)]


def sort_question(question):
    """(numbers, ascending) of a sort question, or None."""
    if list_kind(question) != "sort":
        return None
    return numbers(question), "smallest to largest" in question  # a sort question holds no other numbers


def round_steps(r, named, taken, taken_order, carried, ascending):
    """The pieces of one round of a round sort, judged against the model's own names and earlier takes."""
    if r.group(2) is not None:  # the header's taken names (stage 17's first two forms had none)
        yield "sort: taken names carried", r.group(2) == (", ".join(taken_order) if taken_order else "none")
    parts = r.group(3).split("; ")
    letters = sorted(named)
    yield "sort: round walks every name", [p.split(" ")[0] for p in parts] == letters
    best = None  # (name, value) as the model keeps it
    for p in parts:
        t, f, c = R_TAKEN.match(p), R_FIRST.match(p), R_COMPARE.match(p)
        if t:
            yield "sort: taken marked", t.group(1) in taken
        elif f:
            yield "sort: taken marked", f.group(1) not in taken
            yield "sort: value by name", named.get(f.group(1)) == int(f.group(2))
            yield "sort: first is the first left", best is None
            best = (f.group(1), int(f.group(2)))
        elif c:
            x, y = int(c.group(2)), int(c.group(4))
            yield "sort: taken marked", c.group(1) not in taken
            yield "sort: value by name", named.get(c.group(1)) == x
            yield "sort: compared with the best", best is not None and y == best[1]
            word = c.group(3)
            truth = (x > y) if word.endswith("greater than") else (x < y) if word.endswith("less than") else x == y
            yield "sort: comparison", truth != word.startswith("not ")
            beats = (x < y) if ascending else (x > y)
            yield "sort: best kept or replaced", bool(c.group(5)) == beats
            if c.group(5):
                best = (c.group(5), int(c.group(6)))
        else:
            yield "sort: round form", False
    left = [(k, v) for k, v in sorted(named.items()) if k not in taken]
    if left:
        want = min(left, key=lambda kv: kv[1]) if ascending else max(left, key=lambda kv: kv[1])
        yield "sort: take = best of the rest", (r.group(4), int(r.group(5))) == want
    taken.add(r.group(4))
    taken_order.append(r.group(4))
    yield "sort: sorted carried", numbers(r.group(6)) == carried + [int(r.group(5))]
    carried[:] = numbers(r.group(6))


def bound_round_steps(r, named, state, ascending, n):
    """The pieces of one round of a bound sort, judged against the model's own names, bound and takes.
    state: {"bound": the model's last take or None, "carried": its sorted list so far}."""
    bound = state["bound"]
    if bound is None:
        yield "sort: bound copied", r.group(3) is None
    else:
        yield "sort: bound copied", r.group(4) is not None and int(r.group(4)) == bound
    parts = r.group(5).split("; ")
    yield "sort: round walks every name", [p.split(" ")[0] for p in parts] == sorted(named)
    best, count = None, 0  # as the model keeps them
    for p in parts:
        fail, first, cmp_, eq = B_FAIL.match(p), R_FIRST.match(p), B_COMPARE.match(p), B_EQUAL.match(p)
        m = fail or first or cmp_ or eq
        if not m:
            yield "sort: round form", False
            continue
        x = int(m.group(2))
        yield "sort: value by name", named.get(m.group(1)) == x
        passes = bound is None or (x > bound if ascending else x < bound)
        yield "sort: bound judged", passes != bool(fail)
        if fail:
            continue
        if first:
            yield "sort: first is the first past the bound", best is None
            best, count = x, 1
            continue
        y = int((cmp_ or eq).group(5 if cmp_ else 3))
        yield "sort: compared with the best", best is not None and y == best
        if eq:
            yield "sort: comparison", x == y
            yield "sort: copies counted", int(eq.group(4)) == count + 1
            count = int(eq.group(4))
            continue
        less = cmp_.group(4) == "less"
        truth = x < y if less else x > y
        yield "sort: comparison", truth != bool(cmp_.group(3))
        beats = x < y if ascending else x > y
        yield "sort: best kept or replaced", bool(cmp_.group(6)) == beats
        if cmp_.group(6):
            best, count = int(cmp_.group(6)), 1
    values = list(named.values())
    past = [v for v in values if bound is None or (v > bound if ascending else v < bound)]
    take, took = int(r.group(6)), int(r.group(7))
    if past:
        want = min(past) if ascending else max(past)
        yield "sort: take = best past the bound", take == want
        yield "sort: count taken", took == values.count(take)
    carried = state["carried"]
    yield "sort: sorted carried", numbers(r.group(10)) == carried + [take] * took
    yield "sort: sorted counted", int(r.group(8)) == len(numbers(r.group(10))) and int(r.group(9)) == n
    state["carried"] = numbers(r.group(10))
    state["bound"] = take


def sort_steps(question, text):
    """A sort trace's pieces, each as (class, right). Bucket sorts (docs/tasks.md): each bucket's numbers,
    its order, and the join. Counting sorts (stage 13's form): each line's copy of the list, each
    comparison, each count, each place, and the closing "In order" gathering."""
    parsed = sort_question(question)
    if parsed is None:
        return
    nums, ascending = parsed
    places = {}
    # One frame per level of buckets: [the numbers bucketed, the place's unit, the buckets joined so far].
    frames = [[nums, 10 ** (max(len(str(x)) for x in nums) - 1), []]]
    named = {}  # the round sort's names, as the model wrote them
    taken, taken_order, carried = set(), [], []
    bound_state = {"bound": None, "carried": []}
    for line in text.split("\n"):
        nm = NAMES.match(line)
        if nm:
            pairs = [re.match(r"^([A-Z]) is (\d+)$", x) for x in nm.group(2).split(", ")]
            yield "sort: names copied", [int(x.group(2)) if x else None for x in pairs] == nums
            if nm.group(1) is not None:
                yield "sort: numbers counted", int(nm.group(1)) == len(nums)
            named = {x.group(1): int(x.group(2)) for x in pairs if x}
            continue
        br = B_ROUND.match(line)
        if br and named:
            yield from bound_round_steps(br, named, bound_state, ascending, len(nums))
            continue
        r = ROUND.match(line)
        if r and named:
            yield from round_steps(r, named, taken, taken_order, carried, ascending)
            continue
        if line.startswith("Round "):
            yield "sort: round form", False
            continue
        nest, b = NEST.match(line), BUCKET.match(line)
        if nest or b:
            group, unit, joined = frames[-1]
            digit = int((nest or b).group(1 if nest else 2))
            named = numbers(nest.group(2)) if nest else [] if b.group(3) == "none" else numbers(b.group(3))
            yield "sort: bucket found", named == [x for x in group if x // unit % 10 == digit]
            if nest:
                frames.append([named, max(unit // 10, 1), []])
                continue
            ordered = numbers(b.group(4)) if b.group(4) else named
            if b.group(4):
                want = sorted(named, reverse=not ascending)
                yield "sort: bucket sorted", ordered == want
            joined += ordered
            continue
        sc = SCAN.match(line)
        if sc:
            group, unit, _ = frames[-1]
            parts = [SCAN_PART.match(x) for x in sc.group(1).split(", ")]
            yield "sort: digits list copied", [int(x.group(1)) if x else None for x in parts] == group
            for x in parts:
                if x:
                    yield "sort: digit read", int(x.group(1)) // unit % 10 == int(x.group(2))
            continue
        c = NEST_CLOSE.match(line)
        if c and len(frames) > 1:
            group, _, joined = frames.pop()
            yield "sort: buckets joined", numbers(c.group(1)) == joined
            frames[-1][2] += numbers(c.group(1))
            continue
        o = ORDER.match(line)
        if o and named:
            yield "sort: order copied", numbers(o.group(1)) == carried
            continue
        if o and frames[0][2]:
            yield "sort: buckets joined", numbers(o.group(1)) == frames[0][2]
            continue
        m = SORT_LINE.match(line)
        if m:
            anchor, place, value = int(m.group(1)), int(m.group(3)), int(m.group(4))
            parts = [SORT_PART.match(p.strip()) for p in m.group(2).split(";")]
            if any(p is None for p in parts):
                yield "sort: line form", False
                continue
            listed = [int(p.group(1)) for p in parts]
            yield "sort: list copied", listed == nums
            i = next((k for k, p in enumerate(parts) if p.group(2) == "it"), None)
            count = 0
            for j, p in enumerate(parts):
                x, word = int(p.group(1)), p.group(2)
                if word == "it":
                    continue
                before = (x < anchor if ascending else x > anchor) or (x == anchor and i is not None and j < i)
                said_before = word != "not"
                if said_before and word != "equal":
                    said_before = word == ("less" if ascending else "greater")
                yield "sort: comparison", said_before == before and (word != "equal" or x == anchor)
                if word != "not":
                    count += 1
                    yield "sort: count", p.group(3) is not None and int(p.group(3)) == count
            yield "sort: place = count + 1", place == count + 1 and value == anchor
            places[place] = value
        elif line.startswith("In order:"):
            got = [(int(a), int(b)) for a, b in GATHER.findall(line)]
            yield "sort: gathered", all(places.get(k) == v for k, v in got) and len(got) == len(places)


DIVISION = re.compile(r"(\d+) / (\d+): ([^\n]*?), so \1 / \2 = \d+")
DIV_DIGIT = re.compile(r"^(?:down (?:[a-z ]+ )?(\d): )?(\d+)/(\d+): (.*), so (\d+), (\d+)-(\d+)=(\d+)$")
MULTIPLE = re.compile(r"^(\d+)\*(\d+)=(\d+)( is more than (\d+))?$")
# The later form (session 12): "15/4: 15-4=11 count 1, ..., 3 is less than 4, so 3, left 3; down 6: ..."
# (since session 13 "down ones 6", after the digits listed by place).
SUB_DIGIT = re.compile(r"^(?:down (?:[a-z ]+ )?(\d): )?(\d+)/(\d+): (.*), so (\d+), left (\d+)$")
SUBTRACTION = re.compile(r"^(\d+)-(\d+)=(\d+) count (\d+)$")
LESS = re.compile(r"^(\d+) is less than (\d+)$")
# Session 13: a division that brings digits down first lists the dividend's digits by place
# ("hundreds 5, tens 3, ones 0; 5/5: ...; down tens 3: ...").
DIGIT_LIST = re.compile(r"^[a-z]+ \d(?:, [a-z ]+ \d)*$")
PLACES = ["ones", "tens", "hundreds", "thousands", "ten thousands", "hundred thousands"]


def division_steps(text):
    """The pieces of each long division, each as (class, right): where each partial dividend starts, then
    per quotient digit either the repeated subtraction's pieces (subtraction_pieces, docs/tasks.md) or
    those of stage 13's walk up the divisor's multiples ("15/4: 4*1=4, ..., 4*4=16 is more than 15, so 3,
    15-12=3; down 6: ..."): each multiple, each "is more than" stop, the quotient digit, the remainder."""
    for m in DIVISION.finditer(text):
        a, b = m.group(1), int(m.group(2))
        pos = 0      # digits of the dividend used so far
        rem = None   # the last remainder
        for seg in m.group(3).split("; "):
            if DIGIT_LIST.match(seg):
                want = ", ".join(f"{PLACES[len(a) - 1 - i]} {c}" for i, c in enumerate(a) if len(a) <= len(PLACES))
                yield "/ digits listed", seg == want
                continue
            d = DIV_DIGIT.match(seg)
            sub = SUB_DIGIT.match(seg) if d is None else None
            if d is None and sub is None:
                yield "/ form", False
                break
            d = d or sub
            down, x, div = d.group(1), int(d.group(2)), int(d.group(3))
            if rem is None:  # the first partial dividend: the dividend's leading digits, up to the divisor
                pos = 1
                while pos < len(a) and int(a[:pos]) < b:
                    pos += 1
                yield "/ start or bring down", down is None and x == int(a[:pos]) and div == b
            else:
                right = down is not None and pos < len(a) and down == a[pos] and x == rem * 10 + int(down)
                pos += 1
                yield "/ start or bring down", right and div == b
            if sub is not None:
                yield from subtraction_pieces(sub, x, div)
                rem = int(sub.group(6))
                continue
            walk = [MULTIPLE.match(w) for w in d.group(4).split(", ")]
            if any(w is None for w in walk):
                yield "/ form", False
                break
            for w in walk:
                yield "/ walk: multiple", int(w.group(1)) * int(w.group(2)) == int(w.group(3))
                if w.group(4):
                    yield "/ walk: stop", int(w.group(5)) == x and int(w.group(3)) > x
            q, left, took, rem = (int(d.group(i)) for i in (5, 6, 7, 8))
            yield "/ walk: quotient digit", div > 0 and q == x // div
            yield "/ walk: remainder", left == x and took == q * div and rem == left - took


def subtraction_pieces(d, x, div):
    """One quotient digit of a division by repeated subtraction, as (class, right) pieces."""
    items = d.group(4).split(", ")
    subs, last = [SUBTRACTION.match(w) for w in items[:-1]], LESS.match(items[-1])
    if any(w is None for w in subs) or last is None:
        yield "/ subtract: form", False
        return
    left = x
    for k, w in enumerate(subs, 1):
        a, b, c, count = (int(w.group(i)) for i in (1, 2, 3, 4))
        yield "/ subtract: subtraction", a - b == c
        yield "/ subtract: from the last", a == left and b == div
        yield "/ subtract: count", count == k
        left = c
    yield "/ subtract: stop", int(last.group(1)) == left and int(last.group(2)) == div and left < div
    yield "/ subtract: quotient digit", int(d.group(5)) == x // div
    yield "/ subtract: left", int(d.group(6)) == left


def list_kind(question):
    q = question.lower()
    if any(w in q for w in ("sort", "order", "arrange")):
        return "sort"
    if "how many" in q or "count" in q:
        return "count"
    if "largest" in q or "smallest" in q:
        return "max/min"
    return "compare"


def trace_pieces(item):
    """The pieces of the item's long divisions and sorts, each as (class, right)."""
    text = item.get("reasoning") or ""
    return [*division_steps(text), *sort_steps(item["question"], text)]


def first_cause(item):
    text = item.get("reasoning") or ""
    for m in worked_steps(text):
        a, op, b, cols, c = int(m.group(1)), m.group(2), int(m.group(3)), m.group(4), int(m.group(5))
        if true_value(a, op, b) != c:
            return "wrong step: " + step_class(a, op, b, cols is not None)
    for cls, right in trace_pieces(item):
        if not right:
            return "wrong step: " + cls
    if item["family"] == "list":
        return "list: " + list_kind(item["question"])
    mentioned = set(re.findall(r"\d+", text))
    if any(n not in mentioned for n in re.findall(r"\d+", item["question"])):
        return "misread (a question number never used)"
    return "no wrong step found"


def report(path):
    with open(path) as f:
        rep = json.load(f)
    for mode in rep["modes"]:
        items = mode["items"]
        steps = defaultdict(lambda: [0, 0])  # class -> [right, all]
        causes = Counter()
        for item in items:
            for m in worked_steps(item.get("reasoning") or ""):
                a, op, b, cols, c = int(m.group(1)), m.group(2), int(m.group(3)), m.group(4), int(m.group(5))
                cls = step_class(a, op, b, cols is not None)
                steps[cls][0] += true_value(a, op, b) == c
                steps[cls][1] += 1
            for cls, right in trace_pieces(item):
                steps[cls][0] += right
                steps[cls][1] += 1
            if not item["correct"]:
                causes[(item["family"], first_cause(item))] += 1
        wrong = sum(causes.values())
        print(f"# {path}: mode {mode['mode']}, {len(items)} questions, {wrong} wrong")
        print(f"\n{'worked step':<28}{'right':>8}{'of':>8}{'rate':>9}")
        for cls in sorted(steps):
            right, n = steps[cls]
            print(f"{cls:<28}{right:>8}{n:>8}{100.0 * right / n:>8.1f}%")
        print(f"\n{'family':<8}{'first cause of a wrong answer':<46}{'answers':>8}")
        for (family, cause), n in sorted(causes.items()):
            print(f"{family:<8}{cause:<46}{n:>8}")
        print()


def main():
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(sys.argv) >= 2 else 2
    for path in sys.argv[1:]:
        try:
            report(path)
        except (OSError, ValueError, KeyError) as e:
            print(f"nano-errors: {path}: {e}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
