"""Each quality rule measures one thing and compares it with its published threshold; a removal
names the rule and the value it measured."""
import pytest

from lab.dedup.quality import RULES, EnStats, JaStats, QualityFilter, language_of
from lab.dedup.spec import QualitySpec
from lab.errors import UserError
from lab.presets import validate

GOOD_JA = (
    "駅前の小さな書店が、今月で五十年の歴史に幕を下ろすことになった。店主の男性は、父親から店を受け継いで三十年になる。"
    "近所の子どもたちが漫画を立ち読みしに来るのを、いつも笑って見守ってきたという。\n"
    "閉店の知らせが貼り出されてから、昔の常連客が次々と訪ねてくるようになった。遠くに引っ越した人が、わざわざ電車を乗り継いで"
    "最後の一冊を買いに来ることもある。店の奥の棚には、客が置いていった手紙がたくさん並んでいる。\n"
    "本を買う場所がインターネットに移り、町の書店は年々減っている。それでも、本を手に取って選ぶ時間には特別な楽しさがあると、"
    "店主は話す。閉店の日には、これまでの感謝を込めて、店の前で小さな集まりを開く予定だそうだ。常連客の一人は、"
    "この店で初めて自分のお小遣いで本を買った日のことを今でもよく覚えていると話し、名残を惜しんでいた。"
    "店の看板は、地元の資料館が引き取って展示することが決まっている。書店の跡地の使い道はまだ決まっていない。"
)
GOOD_EN = (
    "The old bookshop near the station will close at the end of the month after fifty years in business. "
    "Its owner took over the shop from his father thirty years ago and has watched generations of children "
    "read comics between the shelves. Since the notice went up, former regulars have been coming back to buy "
    "one last book, and some of them travel for hours to do so. The owner says that choosing a book with your "
    "own hands is a pleasure that no website can replace, and he plans a small party on the final day."
)


def measure(name, text, ng=()):
    rule = RULES[name]
    stats = (JaStats if rule.lang == "ja" else EnStats)(text, ng)
    value = rule.measure(stats)
    return value, rule.keeps(value)


def test_good_pages_pass_every_rule_of_their_language():
    qf = QualityFilter(QualitySpec())
    assert language_of(GOOD_JA) == "ja" and language_of(GOOD_EN) == "en"
    assert qf.check(GOOD_JA).keep, qf.check(GOOD_JA)
    assert qf.check(GOOD_EN).keep, qf.check(GOOD_EN)


@pytest.mark.parametrize("name, text, expected", [
    ("swallow_num_letters", "今日は晴れ。", 6),
    ("swallow_num_japanese_letters", "abc 今日は。", 4),
    ("swallow_hiragana_fraction", "カタカナ漢字", 0.0),
    ("swallow_katakana_fraction", "カタカナです", 4 / 6),
    ("swallow_japanese_fraction", "12345あいう", 3 / 8),
    ("swallow_avg_sentence_length_low", "はい。いいえ。", 3.5),
    ("swallow_avg_sentence_length_high", "あ" * 95 + "。", 96),
    ("swallow_max_sentence_length", "い" * 210 + "。", 211),
    ("swallow_ellipsis_fraction", "まだ…\nそれで…\n終わり。", 2 / 3),
    ("swallow_dup_paragraph_fraction", "同じ行。\n同じ行。\n違う行。", 1 / 3),
    ("swallow_dup_sentence_fraction", "同じ。同じ。同じ。違う。", 2 / 4),
    ("swallow_dup_paragraph_char_fraction", "同じ行。\n同じ行。\n違う行です。", 4 / 14),
    ("swallow_dup_sentence_char_fraction", "同じ。同じ。違うよ。", 3 / 10),
    ("swallow_top_2gram_fraction", "ああああ", 1.0),
    ("swallow_top_3gram_fraction", "abcabcab", 2 / 6),
    ("swallow_top_4gram_fraction", "abcdabcd", 2 / 5),
    ("swallow_dup_5gram_fraction", "abcdefabcdef", 2 / 6),
    ("swallow_dup_10gram_fraction", "0123456789x0123456789", 1 / 11),
    ("gopher_word_count_low", "one two three ...", 3),
    ("gopher_mean_word_length_low", "a bb ccc", 2.0),
    ("gopher_mean_word_length_high", "internationalization characterization", 18.0),
    ("gopher_hash_per_word", "#a #b c d", 0.5),
    ("gopher_ellipsis_per_word", "wait... what… no", 2 / 3),
    ("gopher_bullet_lines", "- a\n- b\nc", 2 / 3),
    ("gopher_ellipsis_lines", "so...\nand…\nend", 2 / 3),
    ("gopher_alpha_words", "12 34 ab", 1 / 3),
    ("gopher_stop_words", "The cat and the dog", 2),
    ("gopher_dup_line_fraction", "same\nsame\nother\nmore", 1 / 4),
    ("gopher_dup_paragraph_char_fraction", "para one\n\npara one\n\nthird", 8 / 25),
    ("gopher_top_2gram_fraction", "a b a b a b", 3 * 3 / 11),
    ("gopher_dup_5gram_fraction", "a b c d e a b c d e", 5 / 19),
])
def test_each_rule_measures_what_it_says(name, text, expected):
    value, _ = measure(name, text)
    assert value == pytest.approx(expected)


@pytest.mark.parametrize("name, text, keep", [
    ("swallow_num_letters", "あ" * 399, False), ("swallow_num_letters", "あ" * 400, True),
    ("swallow_hiragana_fraction", "カ" * 80 + "あ" * 20, True), ("swallow_hiragana_fraction", "カ" * 81 + "あ" * 19, False),
    ("swallow_katakana_fraction", "カ" * 50 + "あ" * 50, True), ("swallow_katakana_fraction", "カ" * 51 + "あ" * 49, False),
    ("swallow_avg_sentence_length_low", "あ" * 19 + "。", True), ("swallow_avg_sentence_length_low", "あ" * 18 + "。", False),
    ("swallow_max_sentence_length", "あ" * 200, True), ("swallow_max_sentence_length", "あ" * 201, False),
    ("gopher_stop_words", "the cat with hats", True), ("gopher_stop_words", "the cat", False),
])
def test_thresholds_are_the_published_ones(name, text, keep):
    assert measure(name, text)[1] is keep


def test_ng_expressions_use_the_users_list():
    text = GOOD_JA + "今すぐ登録して荒稼ぎ！" * 3
    assert measure("swallow_ng_word_fraction", text, ("荒稼ぎ",))[0] == pytest.approx(9 / len(text))
    spam = GOOD_JA + "格安ツアー" * 30
    verdict = QualityFilter(QualitySpec(), ng_words=("格安ツアー",)).check(spam)
    assert (verdict.keep, verdict.rule) == (False, "swallow_ng_word_fraction")
    assert verdict.value == pytest.approx(150 / len(spam), abs=1e-9) and verdict.threshold == 0.05


def test_a_removal_names_the_first_rule_broken_with_its_value():
    verdict = QualityFilter(QualitySpec()).check("ヘッドライン　ニュース　ランキング　" * 60)
    assert (verdict.keep, verdict.rule, verdict.value, verdict.lang) == (False, "swallow_hiragana_fraction", 0.0, "ja")


def test_rules_can_be_switched_off_and_thresholds_overridden():
    short = GOOD_JA[:300]
    assert QualityFilter(QualitySpec()).check(short).rule == "swallow_num_letters"
    relaxed = QualitySpec(disable=["swallow_num_letters", "swallow_num_japanese_letters"])
    assert QualityFilter(relaxed).check(short).keep
    strict = QualityFilter(QualitySpec(thresholds={"swallow_num_letters": 2000})).check(GOOD_JA)
    assert (strict.rule, strict.threshold) == ("swallow_num_letters", 2000)


def test_unknown_rule_name_is_a_one_line_error():
    with pytest.raises(UserError, match=r"quality.disable: unknown rule 'hiragana'"):
        validate({"kind": "dedup", "quality": {"disable": ["hiragana"]}})
