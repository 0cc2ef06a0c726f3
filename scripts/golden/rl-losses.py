#!/usr/bin/env python3
"""Golden values for tests/rl: policy losses, KL estimators, aggregation and entropy computed with
plain PyTorch formulas written from the papers (independently of src/rl), in float64.

Run:  /usr/bin/python3 scripts/golden/rl-losses.py   (Debian python3-torch is enough)
Writes tests/rl/fixtures/golden-losses.json. Tests only read the JSON; they never run Python.

Where this deliberately differs in form from src/rl (to cross-check, not mirror it):
- GSPO is computed at sequence level: s_i = exp(mean_t(logp - old)), loss per sequence
  -min(s_i A_i, clip(s_i) A_i), mean over sequences (src/rl uses the GSPO-token form).
- Aggregations are written with explicit Python loops over sequences.
"""
import json
import math
import os

import torch

torch.set_default_dtype(torch.float64)

B, T, V = 3, 4, 5
g = torch.Generator().manual_seed(1234)

LOGPROBS = [[-1.0, -2.0, -0.5, -0.7], [-0.3, -1.2, -2.2, -0.1], [-0.9, -0.4, -1.6, -2.5]]
OLD = [[-0.9, -2.3, -0.5, -0.75], [-0.35, -1.25, -1.8, -0.1], [-1.0, -2.0, -1.5, -2.4]]  # [2][1]: ratio e^1.6 ~ 4.95 (dual clip)
REF = [[-1.1, -1.8, -0.6, -0.8], [-0.4, -1.0, -2.0, -0.2], [-0.8, -0.6, -1.7, -2.0]]
GEN = [[-0.95, -2.2, -0.55, -0.7], [-0.3, -1.5, -1.9, -0.15], [-1.3, -1.9, -1.4, -2.45]]
ADV = [[1.0], [-0.5], [-0.8]]
ADV_TOKEN = [[1.0, 0.5, -0.2, 0.3], [-0.5, -0.5, 0.1, 0.0], [-0.8, 0.7, -0.1, 0.4]]
MASK = [[1, 1, 1, 1], [1, 1, 1, 0], [1, 1, 0, 0]]
LOGITS = (torch.randn(B, T, V, generator=g) * 1.5).tolist()
VALUES = (torch.randn(B, T, generator=g)).tolist()


def t(x):
    return torch.tensor(x, dtype=torch.float64)


def k_est(lp, ref, kind):
    logr = ref - lp
    if kind == "k1":
        return -logr
    if kind == "k2":
        return 0.5 * logr ** 2
    if kind == "k3":
        return torch.exp(logr) - logr - 1
    if kind == "k3-k2-grad":
        k2 = 0.5 * logr ** 2
        k3 = torch.exp(logr) - logr - 1
        return k2 + (k3 - k2).detach()
    raise ValueError(kind)


def agg(x, m, mode, n_tokens=None, n_seqs=None, max_tokens=None):
    n_seqs = n_seqs if n_seqs is not None else x.shape[0]
    if mode == "token-mean":
        n = n_tokens if n_tokens is not None else m.sum().item()
        return (x * m).sum() / max(n, 1)
    if mode == "seq-mean-token-mean":
        total = 0
        for i in range(x.shape[0]):
            total = total + (x[i] * m[i]).sum() / max(m[i].sum().item(), 1)
        return total / n_seqs
    if mode == "seq-mean-token-sum":
        return (x * m).sum() / n_seqs
    if mode == "seq-mean-token-sum-norm":
        return (x * m).sum() / (n_seqs * (max_tokens if max_tokens is not None else x.shape[1]))
    raise ValueError(mode)


def entropy(logits):
    p = torch.softmax(logits, -1)
    return -(p * torch.log_softmax(logits, -1)).sum(-1)


def mmean(x, m):
    return ((x * m).sum() / m.sum()).item()


def ppo_clip(ratio, adv, lo, hi, c=None):
    s1 = ratio * adv
    s2 = torch.clamp(ratio, 1 - lo, 1 + hi) * adv
    loss = -torch.min(s1, s2)
    clipped = (-s2 > -s1)
    if c is not None:
        bound = -c * adv
        dual = (adv < 0) & (loss > bound)
        loss = torch.where(dual, bound.expand_as(loss), loss)
        clipped = clipped | dual
    return loss, clipped


def case(name, loss_name, options, fn, use_old=True, token_adv=False, with_logits=False, with_gen=False):
    lp = t(LOGPROBS).requires_grad_(True)
    logits = t(LOGITS).requires_grad_(True) if with_logits else None
    old = t(OLD) if use_old else lp.detach()
    adv = t(ADV_TOKEN) if token_adv else t(ADV)
    m = t(MASK)
    loss, extra = fn(lp, old, t(REF), t(GEN), adv, m, logits)
    loss.backward()
    out = {
        "name": name,
        "loss": loss_name,
        "options": options,
        "useOld": use_old,
        "tokenAdvantages": token_adv,
        "withLogits": with_logits,
        "withGenerator": with_gen,
        "value": loss.item(),
        "grad": lp.grad.tolist(),
    }
    if logits is not None:
        out["logitsGrad"] = logits.grad.tolist()
    out["metrics"] = extra
    return out


def ratio_metrics(ratio, clipped, m):
    r = ratio.detach().expand_as(m)
    sel = r[m > 0]
    return {
        "ratioMean": mmean(r, m),
        "ratioMin": sel.min().item(),
        "ratioMax": sel.max().item(),
        "clipFraction": mmean(clipped.double().expand_as(m), m),
    }


cases = []


# --- SimpleGRPOLoss (the seed's formula, verbatim semantics) -----------------------------------
def simple_grpo(beta):
    def fn(lp, old, ref, gen, adv, m, logits):
        kl = torch.exp(ref - lp) - (ref - lp) - 1
        pg = torch.exp(lp - lp.detach()) * adv
        per_tok = -(pg - beta * kl)
        loss = ((per_tok * m).sum(1) / m.sum(1).clamp(min=1.0)).mean()
        return loss, {"klRef": mmean(kl.detach(), m), "ratioMean": 1.0, "clipFraction": 0.0}
    return fn


cases.append(case("simple-grpo beta=0.1", "SimpleGRPOLoss", {"beta": 0.1}, simple_grpo(0.1), use_old=False))
cases.append(case("simple-grpo beta=0 token advantages", "SimpleGRPOLoss", {"beta": 0.0}, simple_grpo(0.0), use_old=False, token_adv=True))


# --- GRPO / DAPO / PPO-clip ---------------------------------------------------------------------
def clipped_loss(lo, hi, beta, kind, mode, c=None, ent_coef=0.0, is_mode=None, cap=2.0, max_tokens=None):
    def fn(lp, old, ref, gen, adv, m, logits):
        ratio = torch.exp(lp - old)
        per_tok, clipped = ppo_clip(ratio, adv, lo, hi, c)
        metrics = ratio_metrics(ratio, clipped, m)
        if is_mode is not None:
            w = torch.exp(old - gen)
            if is_mode == "truncate":
                w = torch.clamp(w, max=cap)
            else:
                w = w * (w <= cap).double()
            per_tok = per_tok * w.detach()
            metrics["isWeightMean"] = mmean(w, m)
        if beta > 0:
            per_tok = per_tok + beta * k_est(lp, ref, kind)
        if logits is not None:
            h = entropy(logits)
            per_tok = per_tok - ent_coef * h
            metrics["entropy"] = mmean(h.detach(), m)
        metrics["klRef"] = mmean(k_est(lp.detach(), ref, "k3"), m)
        metrics["klGenerator"] = mmean(k_est(lp.detach(), gen, "k3"), m)
        return agg(per_tok, m, mode, max_tokens=max_tokens), metrics
    return fn


cases.append(case("grpo defaults", "GRPOLoss", {}, clipped_loss(0.2, 0.2, 0.04, "k3", "seq-mean-token-mean")))
cases.append(case("grpo asymmetric k1", "GRPOLoss", {"clipLow": 0.1, "clipHigh": 0.3, "beta": 0.1, "klEstimator": "k1"}, clipped_loss(0.1, 0.3, 0.1, "k1", "seq-mean-token-mean")))
cases.append(case("grpo k2 token-mean", "GRPOLoss", {"beta": 0.2, "klEstimator": "k2", "aggregation": "token-mean"}, clipped_loss(0.2, 0.2, 0.2, "k2", "token-mean")))
cases.append(case("grpo k3-k2-grad", "GRPOLoss", {"beta": 0.2, "klEstimator": "k3-k2-grad"}, clipped_loss(0.2, 0.2, 0.2, "k3-k2-grad", "seq-mean-token-mean")))
cases.append(case("grpo token advantages", "GRPOLoss", {}, clipped_loss(0.2, 0.2, 0.04, "k3", "seq-mean-token-mean"), token_adv=True))
cases.append(case("grpo entropy bonus", "GRPOLoss", {"entropyCoef": 0.01}, clipped_loss(0.2, 0.2, 0.04, "k3", "seq-mean-token-mean", ent_coef=0.01), with_logits=True))
cases.append(case("dapo defaults", "DAPOLoss", {}, clipped_loss(0.2, 0.28, 0.0, "k3", "token-mean")))
cases.append(case("dapo dual clip c=3", "DAPOLoss", {"clipRatioC": 3}, clipped_loss(0.2, 0.28, 0.0, "k3", "token-mean", c=3.0)))
cases.append(case("dapo truncated IS cap=1.2", "DAPOLoss", {"importanceSampling": {"mode": "truncate", "cap": 1.2}}, clipped_loss(0.2, 0.28, 0.0, "k3", "token-mean", is_mode="truncate", cap=1.2), with_gen=True))
cases.append(case("dapo masked IS cap=1.2", "DAPOLoss", {"importanceSampling": {"mode": "mask", "cap": 1.2}}, clipped_loss(0.2, 0.28, 0.0, "k3", "token-mean", is_mode="mask", cap=1.2), with_gen=True))
cases.append(case("ppo-clip defaults", "PPOClipLoss", {}, clipped_loss(0.2, 0.2, 0.0, "k3", "token-mean")))
cases.append(case("ppo-clip seq-mean-token-sum-norm", "PPOClipLoss", {"clipRatio": 0.1, "aggregation": "seq-mean-token-sum-norm", "maxTokens": 6}, clipped_loss(0.1, 0.1, 0.0, "k3", "seq-mean-token-sum-norm", max_tokens=6)))


# --- GSPO, sequence level -----------------------------------------------------------------------
def gspo(lo, hi):
    def fn(lp, old, ref, gen, adv, m, logits):
        total = 0
        ratios, clips = [], []
        for i in range(B):
            n = m[i].sum()
            s = torch.exp(((lp[i] - old[i]) * m[i]).sum() / n)
            a = adv[i, 0]
            u, c = s * a, torch.clamp(s, 1 - lo, 1 + hi) * a
            total = total - torch.min(u, c)
            ratios.append(s.item())
            clips.append(1.0 if (-c > -u).item() else 0.0)
        r = t([[x] * T for x in ratios])
        cl = t([[x] * T for x in clips])
        return total / B, ratio_metrics(r, cl, m)
    return fn


cases.append(case("gspo defaults", "GSPOLoss", {}, gspo(3e-4, 4e-4)))
cases.append(case("gspo wide clip", "GSPOLoss", {"clipLow": 0.05, "clipHigh": 0.1}, gspo(0.05, 0.1)))


# --- CISPO ----------------------------------------------------------------------------------------
def cispo(lo, hi):
    def fn(lp, old, ref, gen, adv, m, logits):
        ratio = torch.exp(lp - old).detach()
        w = torch.clamp(ratio, 1 - lo, 1 + hi)
        per_tok = -w * adv * lp
        clipped = (ratio < 1 - lo) | (ratio > 1 + hi)
        return agg(per_tok, m, "token-mean"), ratio_metrics(ratio, clipped, m)
    return fn


cases.append(case("cispo defaults", "CISPOLoss", {}, cispo(1.0, 0.28)))
cases.append(case("cispo two-sided", "CISPOLoss", {"clipLow": 0.2, "clipHigh": 0.2}, cispo(0.2, 0.2)))


# --- SAPO -----------------------------------------------------------------------------------------
def sapo(tau_pos, tau_neg):
    def fn(lp, old, ref, gen, adv, m, logits):
        ratio = torch.exp(lp - old)
        tau = torch.where(adv > 0, torch.tensor(tau_pos), torch.tensor(tau_neg))
        gate = torch.sigmoid(tau * (ratio - 1)) * 4 / tau
        return agg(-gate * adv, m, "seq-mean-token-mean"), ratio_metrics(ratio, torch.zeros_like(ratio), m)
    return fn


cases.append(case("sapo defaults", "SAPOLoss", {}, sapo(1.0, 1.05)))
cases.append(case("sapo tau 2/3 token advantages", "SAPOLoss", {"tauPos": 2.0, "tauNeg": 3.0}, sapo(2.0, 3.0), token_adv=True))


# --- REINFORCE (seed semantics: detached IS weight vs the generator) -----------------------------
def reinforce(clip):
    def fn(lp, old, ref, gen, adv, m, logits):
        ratio = torch.exp(lp - gen).detach()
        w = ratio if clip is None else torch.clamp(ratio, 1 - clip, 1 + clip)
        num = (-lp * adv * w * m).sum()
        clipped = torch.zeros_like(ratio) if clip is None else ((ratio < 1 - clip) | (ratio > 1 + clip)).double()
        return num / max(m.sum().item(), 1), ratio_metrics(ratio, clipped, m)
    return fn


cases.append(case("reinforce no clip", "ReinforceLoss", {}, reinforce(None), use_old=False, with_gen=True))
cases.append(case("reinforce clipRatio=0.2", "ReinforceLoss", {"clipRatio": 0.2}, reinforce(0.2), use_old=False, with_gen=True))

# --- KL estimators, aggregation, entropy as standalone blocks ------------------------------------
kl = []
for kind in ["k1", "k2", "k3", "k3-k2-grad"]:
    lp = t(LOGPROBS).requires_grad_(True)
    v = k_est(lp, t(REF), kind)
    v.sum().backward()
    kl.append({"estimator": kind, "value": v.tolist(), "grad": lp.grad.tolist()})

aggregations = []
for mode in ["token-mean", "seq-mean-token-mean", "seq-mean-token-sum", "seq-mean-token-sum-norm"]:
    for n_tok, n_seq in [(None, None), (20, 7)]:
        x = t(VALUES).requires_grad_(True)
        v = agg(x, t(MASK), mode, n_tok, n_seq, 6 if mode == "seq-mean-token-sum-norm" else None)
        v.backward()
        aggregations.append({"mode": mode, "globalTokenCount": n_tok, "globalSequenceCount": n_seq, "maxTokens": 6 if mode == "seq-mean-token-sum-norm" else None, "value": v.item(), "grad": x.grad.tolist()})

lg = t(LOGITS).requires_grad_(True)
h = entropy(lg)
(h * t(VALUES)).sum().backward()
ent = {"value": h.tolist(), "gradOfWeightedSum": lg.grad.tolist()}
lg2 = t(LOGITS)
ent_t = {"temperature": 0.7, "value": entropy(lg2 / 0.7).tolist()}

out = {
    "generatedBy": "scripts/golden/rl-losses.py",
    "torchVersion": torch.__version__,
    "inputs": {"logprobs": LOGPROBS, "oldLogprobs": OLD, "refLogprobs": REF, "generatorLogprobs": GEN, "advantages": ADV, "tokenAdvantages": ADV_TOKEN, "paddingMask": MASK, "logits": LOGITS, "values": VALUES},
    "cases": cases,
    "kl": kl,
    "aggregations": aggregations,
    "entropy": ent,
    "entropyTemperature": ent_t,
}
path = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "rl", "fixtures", "golden-losses.json")
with open(path, "w") as f:
    json.dump(out, f)
print(f"wrote {os.path.normpath(path)}: {len(cases)} loss cases")
