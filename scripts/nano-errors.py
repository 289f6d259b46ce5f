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
     max/min, compare), since list traces hold no worked steps.
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


def list_kind(question):
    q = question.lower()
    if any(w in q for w in ("sort", "order", "arrange")):
        return "sort"
    if "how many" in q or "count" in q:
        return "count"
    if "largest" in q or "smallest" in q:
        return "max/min"
    return "compare"


def first_cause(item):
    text = item.get("reasoning") or ""
    for m in worked_steps(text):
        a, op, b, cols, c = int(m.group(1)), m.group(2), int(m.group(3)), m.group(4), int(m.group(5))
        if true_value(a, op, b) != c:
            return "wrong step: " + step_class(a, op, b, cols is not None)
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
