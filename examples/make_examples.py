#!/usr/bin/env python3
"""Writes the example data sets of examples/ (README, "Your own data"). Every sentence is made up
by this script from the word lists below (written for this repository; see examples/README.md for
the licence). Deterministic: the same files every run.

  train.tsv, test.tsv   label TAB text, 4 classes (food, sport, weather, music), with a header
  new.txt               unlabelled lines to classify
  topics.ft, topics-test.ft   fastText lines with one to three __label__ topics each (multi-label)

Run: python3 examples/make_examples.py
"""
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))

WORDS = {
    "food": dict(
        subj=["the soup", "this bread", "the curry", "her pie", "the salad", "our pasta", "the stew", "his omelette",
              "the cake", "that sauce", "the noodles", "the roast"],
        verb=["tastes", "smells", "looks", "turned out", "came out", "was served"],
        adj=["salty", "sweet", "spicy", "crisp", "tender", "bland", "rich", "fresh", "burnt", "creamy"],
        extra=["with garlic", "after an hour in the oven", "with a pinch of pepper", "straight from the pan",
               "with butter and herbs", "for dinner", "with rice", "at the market stall"]),
    "sport": dict(
        subj=["the striker", "our team", "the goalkeeper", "the runner", "the coach", "their captain", "the referee",
              "the cyclist", "the swimmer", "the home side", "the defender", "the champion"],
        verb=["played", "looked", "seemed", "finished", "trained", "performed"],
        adj=["fast", "tired", "brilliant", "sloppy", "fit", "nervous", "strong", "careless", "sharp", "slow"],
        extra=["in the second half", "before the final whistle", "on the last lap", "during the match",
               "after the penalty", "at the stadium", "in the league game", "on the training pitch"]),
    "weather": dict(
        subj=["the morning", "the sky", "the wind", "the afternoon", "the forecast", "the night", "the air",
              "the weekend", "the coast", "the valley", "the storm", "the fog"],
        verb=["was", "turned", "stayed", "felt", "grew", "became"],
        adj=["cloudy", "freezing", "humid", "windy", "sunny", "grey", "stormy", "mild", "chilly", "damp"],
        extra=["with heavy rain", "with snow on the hills", "before the thunder", "under a clear sky",
               "with a cold breeze", "after the frost", "with hail at noon", "as the temperature dropped"]),
    "music": dict(
        subj=["the band", "the singer", "that chorus", "the guitarist", "the drummer", "the album", "her voice",
              "the orchestra", "the melody", "the new single", "the pianist", "the concert"],
        verb=["sounded", "felt", "played", "seemed", "came across", "was recorded"],
        adj=["loud", "gentle", "catchy", "out of tune", "haunting", "upbeat", "dull", "soulful", "raw", "lively"],
        extra=["on the last track", "during the encore", "with a long guitar solo", "at the festival",
               "with strings and drums", "on the radio", "in the studio", "before the final song"]),
}
CLASSES = list(WORDS)


def clause(rng, label):
    w = WORDS[label]
    s = f"{rng.choice(w['subj'])} {rng.choice(w['verb'])} {rng.choice(w['adj'])}"
    if rng.random() < 0.6:
        s += " " + rng.choice(w["extra"])
    return s


def sentence(rng, label):
    s = clause(rng, label)
    s = s[0].upper() + s[1:]
    return s + rng.choice([".", ".", "!", "..."])


def main():
    rng = random.Random(20261204)
    for name, n in (("train.tsv", 100), ("test.tsv", 30)):
        rows = [(label, sentence(rng, label)) for label in CLASSES for _ in range(n)]
        rng.shuffle(rows)
        with open(os.path.join(HERE, name), "w") as f:
            f.write("label\ttext\n")
            for label, text in rows:
                f.write(f"{label}\t{text}\n")
    with open(os.path.join(HERE, "new.txt"), "w") as f:
        for label in CLASSES + CLASSES:
            f.write(sentence(rng, label) + "\n")
    for name, n in (("topics.ft", 400), ("topics-test.ft", 100)):
        with open(os.path.join(HERE, name), "w") as f:
            for _ in range(n):
                labels = rng.sample(CLASSES, rng.choice([1, 1, 2, 2, 3]))
                text = ", and ".join(clause(rng, l) for l in labels)
                f.write(" ".join("__label__" + l for l in labels) + " " + text[0].upper() + text[1:] + ".\n")


if __name__ == "__main__":
    main()
