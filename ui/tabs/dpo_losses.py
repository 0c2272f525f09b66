"""What each preference loss optimises, as shown in the DPO tab: a formula (LaTeX) and one sentence
on when to use it, in English and Japanese. h is the implicit reward margin of the pair."""
from __future__ import annotations

H = (r"$$h=\log\frac{\pi_\theta(y_w\mid x)}{\pi_{\mathrm{ref}}(y_w\mid x)}"
     r"-\log\frac{\pi_\theta(y_l\mid x)}{\pi_{\mathrm{ref}}(y_l\mid x)}$$")

# key: (formula, when to use (en), when to use (ja))
LOSSES: dict[str, tuple[str, str, str]] = {
    "sigmoid": (r"$$\mathcal{L}_{\mathrm{DPO}}=-\log\sigma(\beta h)$$",
                "The original DPO: the Bradley–Terry preference model fitted directly, no reward model. Start here.",
                "元祖 DPO。報酬モデルを作らず Bradley–Terry の選好モデルを直接当てはめます。まずはこれから。"),
    "ipo": (r"$$\mathcal{L}_{\mathrm{IPO}}=\left(h-\frac{1}{2\beta}\right)^2$$",
            "IPO regresses the margin to a fixed target, so it does not overfit when preferences are nearly deterministic.",
            "IPO はマージンを一定の目標値へ回帰させるので、選好がほぼ決定的なデータでも過学習しにくくなります。"),
    "hinge": (r"$$\mathcal{L}_{\mathrm{hinge}}=\max(0,\,1-\beta h)$$",
              "The SLiC / RSO hinge: pairs already separated by the margin stop contributing.",
              "SLiC／RSO のヒンジ損失。すでにマージン以上に分かれたペアは学習に寄与しなくなります。"),
    "robust": (r"$$\mathcal{L}=\frac{(1-\varepsilon)\,(-\log\sigma(\beta h))+\varepsilon\,\log\sigma(-\beta h)}{1-2\varepsilon}$$",
               "Robust DPO: for noisy labels, ε (label_smoothing) is the chance a preference was flipped.",
               "ロバスト DPO。ラベルに誤りが混じるとき、ε（label_smoothing）を選好が反転している確率として扱います。"),
    "exo_pair": (r"$$\mathcal{L}_{\mathrm{EXO}}=\mathrm{KL}\big(\sigma(\beta h)\,\|\,1-\varepsilon\big)$$",
                 "EXO: minimises reverse KL to the preference distribution (mode-seeking); ε is small (1e-3).",
                 "EXO。選好分布への逆 KL を最小化します（モード追従型）。ε は小さく（1e-3 程度）。"),
    "nca_pair": (r"$$\mathcal{L}_{\mathrm{NCA}}=-\log\sigma(\beta r_w)-\tfrac12\log\sigma(-\beta r_w)-\tfrac12\log\sigma(-\beta r_l)$$",
                 "NCA: optimises absolute rewards, so the chosen answer's likelihood does not fall.",
                 "NCA。絶対的な報酬を最適化するので、選ばれた応答の尤度が下がりにくくなります。"),
    "bco_pair": (r"$$\mathcal{L}_{\mathrm{BCO}}=-\log\sigma(\beta r_w-\delta)-\log\sigma(-(\beta r_l-\delta))$$",
                 "BCO: a binary classifier on each answer's reward with a running shift δ.",
                 "BCO。各応答の報酬を、移動平均のずれ δ 付きの二値分類器として学習します。"),
    "sppo_hard": (r"$$\mathcal{L}_{\mathrm{SPPO}}=\left(\beta r_w-\tfrac12\right)^2+\left(\beta r_l+\tfrac12\right)^2$$",
                  "SPPO (hard labels): pushes each answer's reward to a fixed target, a self-play game view.",
                  "SPPO（ハードラベル）。各応答の報酬を固定目標へ近づけます（自己対戦ゲームの見方）。"),
    "aot": (r"$$\mathcal{L}_{\mathrm{AOT}}=-\log\sigma\big(\beta\,(\mathrm{sort}(r_w)-\mathrm{sort}(r_l))\big)$$",
            "AOT: aligns the whole distribution of rewards (optimal transport over the batch), paired data.",
            "AOT。バッチ全体の報酬分布をそろえます（最適輸送）。ペアデータ向け。"),
    "aot_unpaired": (r"$$\mathcal{L}_{\mathrm{AOT}}=-\log\sigma\big(\beta\,(\mathrm{sort}(r_w)-\mathrm{sort}(r_l))\big)$$",
                     "AOT for unpaired data: chosen and rejected sorted independently.",
                     "ペアになっていないデータ向けの AOT。選ばれた側と退けられた側を別々に並べ替えます。"),
    "apo_zero": (r"$$\mathcal{L}_{\mathrm{APO}_0}=1-\sigma(\beta r_w)+\sigma(\beta r_l)$$",
                 "APO-zero: when chosen answers are better than the model's own, raise them and lower the rejected.",
                 "APO-zero。選ばれた応答がモデル自身の出力より良いとき、それを上げて退けられた応答を下げます。"),
    "apo_down": (r"$$\mathcal{L}_{\mathrm{APO}_\downarrow}=\sigma(\beta r_w)+1-\sigma(\beta(r_w-r_l))$$",
                 "APO-down: when even the chosen answers are worse than the model's own, lower both, the rejected more.",
                 "APO-down。選ばれた応答ですらモデル自身より悪いとき、両方を下げ、退けられた応答をより下げます。"),
    "discopop": (r"$$\mathcal{L}=(1-w)\,(-\log\sigma(\beta h))+w\,e^{-\beta h},\ w=\sigma(\beta h/\tau)$$",
                 "DiscoPOP: a loss found by LLM-driven search, mixing logistic and exponential terms (τ = discopop_tau).",
                 "DiscoPOP。LLM による探索で見つかった損失で、ロジスティック項と指数項を混ぜます（τ = discopop_tau）。"),
    "sft": (r"$$\mathcal{L}_{\mathrm{SFT}}=-\log\pi_\theta(y_w\mid x)$$",
            "Plain likelihood on the chosen answers; combine it with another loss (RPO-style) via loss_weights.",
            "選ばれた応答の尤度だけを上げます。loss_weights で他の損失と組み合わせて使います（RPO 型）。"),
    "sigmoid_norm": (r"$$\mathcal{L}=-\log\sigma\!\left(\beta\left(\tfrac{h_w}{|y_w|}-\tfrac{h_l}{|y_l|}\right)\right)$$",
                     "DPO with length-normalised log-ratios, against the bias towards long answers.",
                     "長さで正規化した対数比の DPO。長い応答を好む偏りを抑えます。"),
    "simpo": (r"$$\mathcal{L}_{\mathrm{SimPO}}=-\log\sigma\!\left(\frac{\beta}{|y_w|}\log\pi_\theta(y_w\mid x)-\frac{\beta}{|y_l|}\log\pi_\theta(y_l\mid x)-\gamma\right)$$",
              "SimPO (CPO trainer): no reference model at all; length-normalised reward with a target margin γ.",
              "SimPO（CPO トレーナー）。参照モデルを使わず、長さで正規化した報酬と目標マージン γ で学習します。"),
    "alphapo": (r"$$\mathcal{L}_{\mathrm{AlphaPO}}=-\log\sigma\big(r_\alpha(y_w)-r_\alpha(y_l)-\gamma\big)$$",
                "AlphaPO: SimPO with a reward shape α that controls how fast likelihoods may fall.",
                "AlphaPO。報酬の形を α で変えた SimPO で、尤度の下がり方を制御します。"),
    "orpo": (r"$$\mathcal{L}_{\mathrm{ORPO}}=\mathcal{L}_{\mathrm{SFT}}-\lambda\log\sigma\!\left(\log\frac{\mathrm{odds}_\theta(y_w\mid x)}{\mathrm{odds}_\theta(y_l\mid x)}\right)$$",
             "ORPO: SFT and preference in one step from a base model, no reference model; odds = p / (1 − p).",
             "ORPO。参照モデルなしで、SFT と選好学習をベースモデルから一度に行います。odds = p / (1 − p)。"),
    "cpo": (r"$$\mathcal{L}_{\mathrm{CPO}}=-\log\sigma\big(\beta\log\pi_\theta(y_w\mid x)-\beta\log\pi_\theta(y_l\mid x)\big)+\mathcal{L}_{\mathrm{SFT}}$$",
            "CPO: DPO without the reference model plus a likelihood term on the chosen answers.",
            "CPO。参照モデルを使わない DPO に、選ばれた応答の尤度項を加えたものです。"),
    "kto": (r"$$\mathcal{L}_{\mathrm{KTO}}=\begin{cases}\lambda_D\,(1-\sigma(\beta(r_\theta-z_0))) & \text{desirable}\\ \lambda_U\,(1-\sigma(\beta(z_0-r_\theta))) & \text{undesirable}\end{cases}$$",
            "KTO: only a good/bad label per answer, no pairs; z₀ is the policy's KL from the reference.",
            "KTO。ペアは不要で、応答ごとの良い／悪いのラベルだけで学習します。z₀ は参照モデルからの KL です。"),
    "apo_zero_unpaired": (r"$$\mathcal{L}=\begin{cases}1-\sigma(\beta r_\theta) & \text{desirable}\\ \sigma(\beta r_\theta) & \text{undesirable}\end{cases}$$",
                          "APO-zero on unpaired data (KTO trainer).",
                          "ペアでないデータ向けの APO-zero（KTO トレーナー）。"),
}
DEFAULT_LOSS = {"dpo": "sigmoid", "cpo": "sigmoid", "orpo": "orpo", "kto": "kto"}


def explain(algorithm: str, loss_type: str | None, lang: str) -> str:
    """Markdown: the objective for this algorithm and loss, and when to use it."""
    if algorithm == "orpo":
        key = "orpo"
    elif not loss_type or loss_type == "default":
        key = DEFAULT_LOSS.get(algorithm, "sigmoid")
    else:
        key = loss_type
    if algorithm == "cpo" and key == "sigmoid":
        key = "cpo"
    formula, en, ja = LOSSES.get(key, LOSSES["sigmoid"])
    where = "\n\n" + H if algorithm == "dpo" else ""
    name = f"**{algorithm.upper()} · {key}**"
    return f"{name}\n\n{formula}{where}\n\n{ja if lang == 'ja' else en}"
