"""Japanese retrieval evaluation sets the lab builds itself, with the cases that break hybrid search
on corpora nobody tuned it for (RAG issue: "retrieval that holds on corpora nobody tuned it for").

    python bench/rag_sets.py [--out bench/out/rag_sets] [--seed 0]

Every set is a folder of short documents plus qa.jsonl ({id, question, source, kind}), generated
from a fixed seed (same seed → same bytes), written before any retrieval was run on them:

- `towns`: similar short documents about fictional towns and villages (prefecture, population,
  speciality, festival, sights, a six-digit municipality code). Sentences come from several
  templates in shuffled order, so the documents look alike without being copies.
- `orgs`: one template, many organisations: every document is the same sentence frame and only
  names, codes, years, people and numbers differ. Several names share their first half
  (ミナト精機 / ミナト物産), so the name is the only thing that tells two documents apart.
- `facilities`: a library, a community hall and a pool in each of many towns: the town name is in
  three documents, and the facility, or its code, picks one.

Kinds of questions (each document gets several, rotating through the kinds):
- `particle`: the name followed by different particles (は / の / が / を / で), which makes a
  morphological analyser cut an unknown name differently than in the document;
- `name->code` and `code->name`: a code looked up from a name, and a name from a code;
- `paraphrase`: the same need in other words (代表取締役 → 社長, 特産品 → 名物, 人口 → 何人住んでいる);
- `attribute`: no name at all, only an attribute unique to one document (a festival, a phone number).
The bundled set (lab/samples/rag_qa.jsonl over lab/samples/rag_docs) is the fourth set bench/rag.py uses."""
from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
KINDS = ("particle", "name->code", "code->name", "paraphrase", "attribute")

PREFECTURES = ["長野県", "静岡県", "岐阜県", "新潟県", "山形県", "岡山県", "愛媛県", "熊本県"]
STEM_FIRST = list("金北南東西大小高長白黒青赤若古新石松杉桜梅竹森川谷山野原浜島沢岡田津宮荒")
STEM_SECOND = list("谷川沢原田野山島浜岡崎坂井瀬森江浦尾根倉平")
SPECIALTIES = ["りんご", "緑茶", "蕎麦", "日本酒", "和紙", "陶器", "椎茸", "わさび", "牡蠣", "みかん", "梨", "桃",
               "ぶどう", "米", "昆布", "干し柿", "炭", "竹細工", "漆器", "寒天", "味噌", "醤油", "鰹節", "栗", "蓮根"]
FESTIVALS = ["灯籠まつり", "花火大会", "太鼓祭り", "雪まつり", "火祭り", "神輿祭り", "流し雛", "凧揚げ大会"]
SIGHT_WORDS = ["白糸", "鏡", "竜神", "天狗", "雲海", "星見", "紅葉", "鶴舞", "千本", "夕日", "清流", "岩屋", "霧降", "朝霧",
               "蛍", "桔梗", "鳴沢", "不動", "観音", "獅子"]
SIGHT_KINDS = ["渓谷", "の滝", "城跡", "温泉", "湖", "高原", "峠", "洞窟"]
MONTHS = [f"{m}月" for m in range(1, 13)]

BRANDS = ["ミナト", "アサヒ", "カエデ", "ツバサ", "ヒカリ", "サクラ", "ミドリ", "ホクト", "ナギサ", "コトブキ", "ヤマト", "イズミ",
          "ハヤテ", "スバル", "カナメ", "トキワ", "ミズホ", "アカネ", "シオン", "ワカバ"]
TRADES = [("精機", "精密機械"), ("物産", "食品卸"), ("電工", "電気工事"), ("運輸", "物流"), ("食品", "食品製造"),
          ("化成", "化学製品"), ("製薬", "医薬品"), ("建設", "建設"), ("商事", "総合商社"), ("工業", "金属加工")]
ITEMS = ["産業用ロボット", "冷凍食品", "配電盤", "建築資材", "医療用マスク", "包装フィルム", "工作機械", "業務用厨房機器",
         "鋼材", "農業用ドローン", "乾電池", "合成樹脂"]
CITIES = ["札幌市", "仙台市", "さいたま市", "横浜市", "新潟市", "名古屋市", "京都市", "大阪市", "広島市", "福岡市"]
FAMILY = ["佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤", "吉田", "山田", "佐々木", "山口",
          "松本", "井上", "木村", "林", "清水", "山崎", "森", "池田", "橋本", "阿部", "石川"]
GIVEN = ["健一", "美咲", "大輔", "陽子", "翔太", "恵子", "隆", "由美", "誠", "直子", "浩二", "彩", "拓也", "真理子", "修",
         "智子", "和也", "裕子", "剛", "千尋"]

FACILITIES = [("図書館", "library"), ("公民館", "hall"), ("市民プール", "pool")]
WEEKDAYS = ["月曜日", "火曜日", "水曜日", "木曜日", "金曜日"]


def _unique(rng: random.Random, make, n: int) -> list:
    seen, out = set(), []
    while len(out) < n:
        x = make()
        if x not in seen:
            seen.add(x)
            out.append(x)
    return out


def _kinds_for(i: int, per_doc: int) -> list[str]:
    return [KINDS[(i * per_doc + j) % len(KINDS)] for j in range(per_doc)]


def towns(seed: int, n: int = 60, per_doc: int = 3) -> tuple[dict[str, str], list[dict]]:
    rng = random.Random(seed)
    stems = _unique(rng, lambda: rng.choice(STEM_FIRST) + rng.choice(STEM_SECOND), n)
    codes = _unique(rng, lambda: str(rng.randint(100000, 479999)), n)
    sights = _unique(rng, lambda: rng.choice(SIGHT_WORDS) + rng.choice(SIGHT_KINDS), n)
    docs, qa = {}, []
    for i, stem in enumerate(stems):
        name = stem + rng.choice(["町", "町", "村"])
        pref, pop = rng.choice(PREFECTURES), rng.randint(30, 400) * 100
        spec, fest, month = rng.choice(SPECIALTIES), stem + rng.choice(FESTIVALS), rng.choice(MONTHS)
        sight, code = sights[i], codes[i]
        sentences = [
            rng.choice([f"{name}は{pref}の山あいにある{name[-1]}で、人口はおよそ{pop:,}人です。",
                        f"{pref}に位置する{name}には、およそ{pop:,}人が暮らしています。"]),
            rng.choice([f"特産品は{spec}で、地元の直売所でも買うことができます。",
                        f"{name}の特産品として知られるのは{spec}です。"]),
            rng.choice([f"毎年{month}には{fest}が開かれ、多くの見物客が訪れます。",
                        f"{month}に行われる{fest}は、{name}でいちばん大きな行事です。"]),
            rng.choice([f"見どころは{sight}で、四季を通じて観光客が絶えません。",
                        f"観光の名所として{sight}があります。"]),
            f"{name}の市町村コードは{code}です。",
        ]
        tail = sentences[1:]
        rng.shuffle(tail)
        sentences = sentences[:1] + tail
        source = f"town_{i:03d}.md"
        docs[source] = f"# {name}\n\n" + "".join(sentences) + "\n"
        asks = {
            "particle": [f"{name}の特産品は何ですか？", f"{name}は何県にありますか？", f"{name}が誇る観光の名所はどこですか？",
                         f"{name}を訪れたら見られる祭りは何ですか？", f"{name}で毎年開かれる祭りはいつですか？"],
            "name->code": [f"{name}の市町村コードを教えてください。", f"{name}の市町村コードは何番ですか？"],
            "code->name": [f"市町村コード{code}はどの町村ですか？", f"コード{code}が割り当てられている自治体の特産品は？"],
            "paraphrase": [f"{name}の名物といえば何ですか？", f"{name}には何人くらい住んでいますか？",
                           f"{name}でおすすめの観光スポットは？"],
            "attribute": [f"{fest}が行われるのはどこですか？", f"{sight}がある町村の人口は？"],
        }
        for j, kind in enumerate(_kinds_for(i, per_doc)):
            qa.append({"id": f"towns-{i:03d}-{j}", "question": rng.choice(asks[kind]), "source": source, "kind": kind})
    return docs, qa


def orgs(seed: int, n: int = 80, per_doc: int = 3) -> tuple[dict[str, str], list[dict]]:
    rng = random.Random(seed + 1)
    names = _unique(rng, lambda: (rng.choice(BRANDS), rng.choice(TRADES)), n)
    codes = _unique(rng, lambda: f"TK-{rng.randint(1000, 9999)}", n)
    reps = _unique(rng, lambda: (rng.choice(FAMILY), rng.choice(GIVEN)), n)
    tels = _unique(rng, lambda: f"0{rng.randint(3, 99)}-{rng.randint(200, 999)}-{rng.randint(1000, 9999)}", n)
    docs, qa = {}, []
    for i, ((brand, (suffix, industry)), code, (fam, given), tel) in enumerate(zip(names, codes, reps, tels)):
        name, rep = f"{brand}{suffix}", f"{fam}{given}"
        city, year, staff, item = rng.choice(CITIES), rng.randint(1950, 2020), rng.randint(12, 3000), rng.choice(ITEMS)
        source = f"org_{i:03d}.md"
        docs[source] = (f"# 株式会社{name}\n\n株式会社{name}（取引先コード {code}）は、{city}に本社を置く{industry}の会社です。"
                        f"設立は{year}年、代表取締役は{rep}、従業員数は{staff:,}名です。主な取扱品目は{item}で、"
                        f"問い合わせ窓口の電話番号は{tel}です。\n")
        asks = {
            "particle": [f"{name}の代表取締役は誰ですか？", f"{name}は何年に設立されましたか？", f"{name}が本社を置いている都市は？",
                         f"{name}で働いている従業員は何人ですか？", f"{name}を担当する問い合わせ窓口の電話番号は？"],
            "name->code": [f"{name}の取引先コードは何ですか？", f"株式会社{name}の取引先コードを教えて。"],
            "code->name": [f"取引先コード {code} の会社はどこですか？", f"{code} はどの会社の取引先コード？"],
            "paraphrase": [f"{name}の社長は誰？", f"{name}の社員数は？", f"{name}はいつできた会社？", f"{name}は何を扱っている会社？"],
            "attribute": [f"代表取締役が{rep}の会社は？", f"電話番号{tel}はどこの会社の窓口ですか？"],
        }
        for j, kind in enumerate(_kinds_for(i, per_doc)):
            qa.append({"id": f"orgs-{i:03d}-{j}", "question": rng.choice(asks[kind]), "source": source, "kind": kind})
    return docs, qa


def facilities(seed: int, n_towns: int = 20, per_doc: int = 3) -> tuple[dict[str, str], list[dict]]:
    rng = random.Random(seed + 2)
    stems = _unique(rng, lambda: rng.choice(STEM_FIRST) + rng.choice(STEM_SECOND), n_towns)
    codes = _unique(rng, lambda: f"F-{rng.randint(1000, 9999)}", n_towns * len(FACILITIES))
    docs, qa = {}, []
    i = 0
    for stem in stems:
        town = stem + "町"
        streets = _unique(rng, lambda: f"{town}{rng.randint(1, 5)}丁目{rng.randint(1, 30)}番地", len(FACILITIES))
        for facility, slug in FACILITIES:
            name, code = f"{town}{facility}", codes[i]
            opens, closes = rng.choice([8, 9, 10]), rng.choice([17, 18, 19, 20, 21])
            closed, parking = rng.choice(WEEKDAYS), rng.choice([0, 10, 20, 30, 50, 80])
            street = streets[i % len(FACILITIES)]
            sentences = [f"{name}（施設番号 {code}）は{street}にあります。",
                         f"開館時間は{opens}時から{closes}時まで、休館日は毎週{closed}です。",
                         rng.choice([f"駐車場は{parking}台分あります。" if parking else "駐車場はありません。",
                                     f"利用者用の駐車場は{parking}台です。" if parking else "専用の駐車場はないため、公共交通機関をご利用ください。"])]
            tail = sentences[1:]
            rng.shuffle(tail)
            sentences = sentences[:1] + tail
            source = f"facility_{i:03d}_{slug}.md"
            docs[source] = f"# {name}\n\n" + "".join(sentences) + "\n"
            asks = {
                "particle": [f"{name}の休館日はいつですか？", f"{name}は何時まで開いていますか？",
                             f"{name}で車を停められる台数は？", f"{name}が開くのは何時ですか？", f"{name}を利用できない曜日は？"],
                "name->code": [f"{name}の施設番号は？", f"{name}の施設番号を教えてください。"],
                "code->name": [f"施設番号 {code} はどの施設ですか？", f"{code} の施設の休館日は？"],
                "paraphrase": [f"{town}の{facility}がお休みの日は？", f"{town}の{facility}は何時から使えますか？",
                               f"{town}にある{facility}の所在地は？"],
                "attribute": [f"{street}にある施設は何ですか？"],
            }
            for j, kind in enumerate(_kinds_for(i, per_doc)):
                qa.append({"id": f"facilities-{i:03d}-{j}", "question": rng.choice(asks[kind]), "source": source, "kind": kind})
            i += 1
    return docs, qa


GENERATED = {"towns": towns, "orgs": orgs, "facilities": facilities}


def write_sets(out: Path, seed: int = 0) -> dict[str, Path]:
    """Write every generated set to out/<name>/{docs/, qa.jsonl}; returns name → folder."""
    folders = {}
    for name, make in GENERATED.items():
        docs, qa = make(seed)
        folder = out / name
        (folder / "docs").mkdir(parents=True, exist_ok=True)
        for old in (folder / "docs").iterdir():
            if old.name not in docs:
                old.unlink()
        for source, text in docs.items():
            path = folder / "docs" / source
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                path.write_text(text, encoding="utf-8")
        (folder / "qa.jsonl").write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in qa), encoding="utf-8")
        folders[name] = folder
    return folders


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--out", default=str(REPO / "bench" / "out" / "rag_sets"))
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    for name, folder in write_sets(Path(a.out), a.seed).items():
        qa = [json.loads(line) for line in (folder / "qa.jsonl").read_text(encoding="utf-8").splitlines()]
        kinds = {k: sum(q["kind"] == k for q in qa) for k in KINDS}
        print(f"{name}: {len(list((folder / 'docs').iterdir()))} documents, {len(qa)} questions {kinds} → {folder}")


if __name__ == "__main__":
    main()
