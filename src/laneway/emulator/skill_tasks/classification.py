"""Classification: choose one label from a listed set, answered with the label alone.

    Classify the sentiment of this review. Choose one label from: positive, negative,
    neutral. Answer with the label only.

    Review: I bought it for my commute. The battery died after two days.

-> "negative". The emulator reads a text by cue phrases it knows for each label (the phrases
its own tasks are written from); a text with no known cue is no task, answered as any prompt.
A wrong answer is another label of the listed set.
"""

from __future__ import annotations

import random
import re

from laneway.emulator.skill_tasks.base import Answer, Family, Sample, Task

_ASK = re.compile(
    r"Classify the ([a-z]+) of this ([a-z]+)\. Choose one label from: ([a-z, ]+)\. "
    r"Answer with the label only\.\n\n[A-Z][a-z]+: (.+)",
    re.DOTALL,
)
# Per kind of text: the labels, each with the phrases that show it.
CUES: dict[str, dict[str, tuple[str, ...]]] = {
    "sentiment": {
        "positive": (
            "It works perfectly and I would buy it again",
            "Best purchase I have made this year",
            "The battery lasts for days and it feels solid",
            "Setup took two minutes and everything just worked",
        ),
        "negative": (
            "The battery died after two days",
            "It broke the first time I dropped it",
            "Support never answered and I want a refund",
            "The screen flickers and the buttons stick",
        ),
        "neutral": (
            "It does what the box says, nothing more",
            "It arrived on Tuesday in a plain box",
            "The colour is grey as in the pictures",
            "It is about the size of a paperback",
        ),
    },
    "topic": {
        "sports": (
            "The striker scored twice in the second half",
            "The marathon record fell by eleven seconds",
            "The coach rested three starters before the final",
        ),
        "politics": (
            "Parliament passed the budget after a late vote",
            "The senator announced she will run for governor",
            "Coalition talks broke down over the election date",
        ),
        "technology": (
            "The new chip doubles battery life in laptops",
            "The update patches a flaw in the browser",
            "Engineers moved the service to a new database",
        ),
        "finance": (
            "The central bank held interest rates steady",
            "Shares fell after the company cut its forecast",
            "Bond yields rose for the third week running",
        ),
    },
}
_SUBJECTS = {"sentiment": ("review", "Review"), "topic": ("headline", "Headline")}
_FILLERS = ("I bought it for my commute.", "Posted on Monday.", "Second time ordering.", "")


class Classification(Family):
    name = "classification"
    opening = "Classify the "

    def recognise(self, text: str) -> Task | None:
        ask = _ASK.match(text)
        if ask is None or ask[1] not in CUES:
            return None
        labels = tuple(label.strip() for label in ask[3].split(","))
        cues = CUES[ask[1]]
        shown = [label for label in labels if any(cue in ask[4] for cue in cues.get(label, ()))]
        if len(shown) != 1 or len(labels) < 2:
            return None  # no cue it knows, or cues of two labels: not a task it can grade
        return Task(self.name, {"labels": labels, "label": shown[0]})

    def solve(self, task: Task) -> Answer:
        return Answer(task.facts["label"])

    def wrong(self, task: Task, draw: random.Random) -> Answer:
        others = [label for label in task.facts["labels"] if label != task.facts["label"]]
        return Answer(draw.choice(others))

    def sample(self, draw: random.Random) -> Sample:
        kind = draw.choice(sorted(CUES))
        labels = list(CUES[kind])
        label = draw.choice(labels)
        cue = draw.choice(CUES[kind][label])
        subject, heading = _SUBJECTS[kind]
        body = f"{draw.choice(_FILLERS)} {cue}.".strip() if kind == "sentiment" else cue
        draw.shuffle(labels)
        return Sample(
            f"Classify the {kind} of this {subject}. Choose one label from: "
            f"{', '.join(labels)}. Answer with the label only.\n\n{heading}: {body}"
        )
