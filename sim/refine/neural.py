"""Neural refiners on torch (the `neural` extra): a SimGAN-style residual refiner, a conditional tabular
VAE, a diffusion refiner and its self-attention version over each account's sequence. Numbers are mapped
to normal scores by the real data's quantiles first, labels are one-hot conditions; torch's global random
state is left as it was (every draw is inside a forked, seeded state). `random_state=None` draws a fresh
seed from the operating system (recorded as `seed_`), never a fixed one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from sklearn.preprocessing import QuantileTransformer
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from sim.evaluation.tables import numbers
from sim.refine.base import Refiner, label_keys


def _mlp(inputs: int, outputs: int, width: int = 128, norm=None) -> nn.Sequential:
    wrap = norm or (lambda layer: layer)
    return nn.Sequential(wrap(nn.Linear(inputs, width)), nn.LeakyReLU(0.2), wrap(nn.Linear(width, width)),
                         nn.LeakyReLU(0.2), wrap(nn.Linear(width, outputs)))  # fmt: skip


class _Neural(Refiner):
    """What both share: numeric features as normal scores, labels as one-hot conditions."""

    steps = 1500
    batch = 256

    def __init__(self, random_state: int | None = None, labels: list[str] | None = None,
                 steps: int | None = None):  # fmt: skip
        super().__init__(random_state, labels)
        self.steps = steps or type(self).steps

    def _prepare(self, sim: pd.DataFrame, real: pd.DataFrame) -> None:
        fresh = int(np.random.SeedSequence().generate_state(1, np.uint64)[0] >> np.uint64(1))
        self.seed_ = self.random_state if self.random_state is not None else fresh
        self.features_, self.labels_ = self._columns(sim, real)
        self.numeric_ = self.features_.numeric
        if not self.numeric_:
            from sim.errors import InputError

            raise InputError(f"method {self.name!r} refines numbers; these tables share none")
        real_x = np.column_stack([numbers(real, c) for c in self.numeric_])
        self.scaler_ = QuantileTransformer(n_quantiles=min(1000, len(real)), output_distribution="normal",
                                           random_state=self.seed_).fit(real_x)  # fmt: skip
        self.integer_ = [np.allclose(np.nan_to_num(real_x[:, j]) % 1, 0) for j in range(real_x.shape[1])]
        self.classes_ = sorted(set(label_keys(real, self.labels_)) | set(label_keys(sim, self.labels_)))

    def _x(self, frame: pd.DataFrame) -> torch.Tensor:
        x = np.column_stack([numbers(frame, c) for c in self.numeric_])
        return torch.tensor(np.nan_to_num(self.scaler_.transform(x)), dtype=torch.float32)

    def _y(self, frame: pd.DataFrame) -> torch.Tensor:
        index = pd.Index(self.classes_).get_indexer(label_keys(frame, self.labels_))
        return nn.functional.one_hot(torch.tensor(index), len(self.classes_)).float()

    def _frame(self, sim: pd.DataFrame, z: torch.Tensor) -> pd.DataFrame:
        x = self.scaler_.inverse_transform(z.detach().numpy().astype(np.float64))
        out = sim.copy()
        for j, column in enumerate(self.numeric_):
            out[column] = np.round(x[:, j]) if self.integer_[j] else x[:, j]  # `transform` casts
        return out


class ResidualGAN(_Neural):
    """SimGAN (Shrivastava et al. 2017) for tables: x' = x + r(x, labels), trained against a discriminator
    with spectral normalisation that sees half its fakes from a history buffer of earlier refinements;
    the refiner's loss adds `l1` times the mean absolute change, so it changes only what gives it away."""

    name = "residual-gan"

    def __init__(self, random_state: int | None = None, labels: list[str] | None = None,
                 steps: int | None = None, l1: float = 0.1):  # fmt: skip
        super().__init__(random_state, labels, steps)
        self.l1 = l1

    def fit(self, sim: pd.DataFrame, real: pd.DataFrame) -> ResidualGAN:
        self._prepare(sim, real)
        xs, ys, xr, yr = self._x(sim), self._y(sim), self._x(real), self._y(real)
        k, c = xs.shape[1], ys.shape[1]
        with torch.random.fork_rng():
            torch.manual_seed(self.seed_)
            self.refiner_ = _mlp(k + c, k)
            critic = _mlp(k + c, 1, norm=spectral_norm)
            opt_r = torch.optim.Adam(self.refiner_.parameters(), lr=1e-3, betas=(0.5, 0.9))
            opt_d = torch.optim.Adam(critic.parameters(), lr=1e-3, betas=(0.5, 0.9))
            bce = nn.BCEWithLogitsLoss()
            history = torch.empty((0, k + c))
            for _ in range(self.steps):
                i = torch.randint(len(xs), (self.batch,))
                j = torch.randint(len(xr), (self.batch,))
                refined = torch.cat([xs[i] + self.refiner_(torch.cat([xs[i], ys[i]], 1)), ys[i]], 1)
                fakes = refined.detach()
                if len(history) >= self.batch // 2:  # half the fakes from earlier refinements
                    old = history[torch.randint(len(history), (self.batch // 2,))]
                    fakes = torch.cat([fakes[: self.batch // 2], old])
                history = torch.cat([history, refined.detach()[: self.batch // 4]])[-10 * self.batch :]
                real_batch = torch.cat([xr[j], yr[j]], 1)
                on_real = bce(critic(real_batch), torch.ones(self.batch, 1))
                loss_d = on_real + bce(critic(fakes), torch.zeros(len(fakes), 1))
                opt_d.zero_grad()
                loss_d.backward()
                opt_d.step()
                change = refined[:, :k] - xs[i]
                loss_r = bce(critic(refined), torch.ones(self.batch, 1)) + self.l1 * change.abs().mean()
                opt_r.zero_grad()
                loss_r.backward()
                opt_r.step()
        return self

    def _transform(self, sim: pd.DataFrame) -> pd.DataFrame:
        x, y = self._x(sim), self._y(sim)
        with torch.no_grad():
            return self._frame(sim, x + self.refiner_(torch.cat([x, y], 1)))


class TabularVAE(_Neural):
    """A conditional VAE (Kingma & Welling 2014) fitted on the real rows: the encoder reads features and
    labels, the decoder writes the mean of each feature from a latent draw and the labels, with a learned
    spread per feature (a Gaussian likelihood, so samples are not over-smoothed). `transform` keeps each
    simulated row's labels and identifiers and draws its numbers from the decoder given its labels."""

    name = "vae"
    latent = 8

    def fit(self, sim: pd.DataFrame, real: pd.DataFrame) -> TabularVAE:
        self._prepare(sim, real)
        xr, yr = self._x(real), self._y(real)
        k, c = xr.shape[1], yr.shape[1]
        with torch.random.fork_rng():
            torch.manual_seed(self.seed_)
            encoder, self.decoder_ = _mlp(k + c, 2 * self.latent), _mlp(self.latent + c, k)
            self.log_sigma_ = nn.Parameter(torch.zeros(k))
            parameters = [*encoder.parameters(), *self.decoder_.parameters(), self.log_sigma_]
            opt = torch.optim.Adam(parameters, lr=1e-3)
            for _ in range(self.steps):
                i = torch.randint(len(xr), (self.batch,))
                mu, log_var = encoder(torch.cat([xr[i], yr[i]], 1)).chunk(2, dim=1)
                z = mu + torch.randn_like(mu) * (0.5 * log_var).exp()
                reconstruction = self.decoder_(torch.cat([z, yr[i]], 1))
                kl = -0.5 * (1 + log_var - mu.pow(2) - log_var.exp()).sum(1).mean()
                error = (reconstruction - xr[i]) / self.log_sigma_.exp()
                loss = (0.5 * error.pow(2) + self.log_sigma_).sum(1).mean() + kl
                opt.zero_grad()
                loss.backward()
                opt.step()
        return self

    def _transform(self, sim: pd.DataFrame) -> pd.DataFrame:
        y = self._y(sim)
        with torch.random.fork_rng(), torch.no_grad():
            torch.manual_seed(self.seed_ + 1)
            z = torch.randn(len(sim), self.latent)
            mean = self.decoder_(torch.cat([z, y], 1))
            return self._frame(sim, mean + torch.randn_like(mean) * self.log_sigma_.exp())


class Diffusion(_Neural):
    """A conditional denoising diffusion model of the real rows (DDPM, Ho et al. 2020, on the normal
    scores of the numbers as TabDDPM does; Kotelnikov et al. 2023), refining the way SDEdit does (Meng et
    al. 2022): each simulated row is noised to `strength` of the way (1: to pure noise, a fresh draw)
    and then denoised by the model given its labels, so it keeps what the noise did not wash out of it.
    A cosine noise schedule over `levels` steps; the denoiser is an MLP of the noisy row, the labels and
    the step's sinusoidal embedding, trained to predict the noise."""

    name = "diffusion"
    steps = 3000
    levels = 100

    def __init__(self, random_state: int | None = None, labels: list[str] | None = None,
                 steps: int | None = None, strength: float = 0.8):  # fmt: skip
        super().__init__(random_state, labels, steps)
        self.strength = strength

    def _schedule(self) -> torch.Tensor:
        """ᾱ_t for t = 0..levels (ᾱ_0 = 1): Nichol & Dhariwal's cosine schedule."""
        t = torch.linspace(0, 1, self.levels + 1, dtype=torch.float64)
        f = torch.cos((t + 0.008) / 1.008 * torch.pi / 2) ** 2
        return (f / f[0]).clamp(min=1e-5).float()

    def _embed(self, t: torch.Tensor) -> torch.Tensor:
        half = torch.exp(-np.log(1000.0) * torch.arange(8) / 8) * 1000.0 / self.levels
        angle = t.float()[:, None] * half[None, :]
        return torch.cat([angle.sin(), angle.cos()], 1)

    def fit(self, sim: pd.DataFrame, real: pd.DataFrame) -> Diffusion:
        self._prepare(sim, real)
        xr, yr = self._x(real), self._y(real)
        k, c = xr.shape[1], yr.shape[1]
        self.alpha_bar_ = self._schedule()
        with torch.random.fork_rng():
            torch.manual_seed(self.seed_)
            self.denoiser_ = self._denoiser(k, c)
            context = self._context(real, xr)
            opt = torch.optim.Adam(self.denoiser_.parameters(), lr=1e-3)
            for _ in range(self.steps):
                i = torch.randint(len(xr), (self.batch,))
                t = torch.randint(1, self.levels + 1, (self.batch,))
                noise = torch.randn(self.batch, k)
                a = self.alpha_bar_[t][:, None]
                noisy = a.sqrt() * xr[i] + (1 - a).sqrt() * noise
                loss = (self._noise(noisy, yr[i], t, context, i) - noise).pow(2).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
        return self

    def _denoiser(self, k: int, c: int) -> nn.Module:
        return _mlp(k + c + 16, k, width=256)

    def _context(self, frame: pd.DataFrame, x: torch.Tensor):
        """What a row's denoising may look at besides the row: nothing here (see `Attention`)."""
        return None

    def _noise(self, noisy: torch.Tensor, y: torch.Tensor, t: torch.Tensor, context, rows) -> torch.Tensor:
        """The denoiser's guess of the noise in `noisy` (rows `rows` of the table `context` came from)."""
        return self.denoiser_(torch.cat([noisy, y, self._embed(t)], 1))

    def _transform(self, sim: pd.DataFrame) -> pd.DataFrame:
        x, y = self._x(sim), self._y(sim)
        context, rows = self._context(sim, x), torch.arange(len(x))
        start = max(1, round(self.strength * self.levels))
        a = self.alpha_bar_
        with torch.random.fork_rng(), torch.no_grad():
            torch.manual_seed(self.seed_ + 1)
            x = a[start].sqrt() * x + (1 - a[start]).sqrt() * torch.randn_like(x)
            for t in range(start, 0, -1):  # DDPM's ancestral steps back to the data
                step = torch.full((len(x),), t)
                noise = self._noise(x, y, step, context, rows)
                alpha = a[t] / a[t - 1]
                x = (x - (1 - alpha) / (1 - a[t]).sqrt() * noise) / alpha.sqrt()
                if t > 1:
                    sigma = ((1 - a[t - 1]) / (1 - a[t]) * (1 - alpha)).sqrt()
                    x = x + sigma * torch.randn_like(x)
            return self._frame(sim, x)


class _Encoder(nn.Module):
    """A transformer encoder over tokens: one per number of the row (its value times a learned vector,
    plus the column's own embedding), one for the labels, one for the noise level, and one per earlier row
    of the same account (its numbers projected, plus its distance back). Each number's noise is read off
    its own token."""

    def __init__(self, k: int, c: int, history: int, width: int = 64, heads: int = 4, layers: int = 2):
        super().__init__()
        self.value, self.column = nn.Linear(1, width), nn.Parameter(torch.randn(k, width) * 0.1)
        self.label, self.level = nn.Linear(c, width), nn.Linear(16, width)
        self.earlier, self.back = nn.Linear(k, width), nn.Parameter(torch.randn(max(history, 1), width) * 0.1)
        layer = nn.TransformerEncoderLayer(width, heads, 2 * width, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Linear(width, 1)

    def forward(self, x, y, level, earlier, missing):
        k = x.shape[1]
        tokens = [self.value(x[:, :, None]) + self.column, self.label(y)[:, None], self.level(level)[:, None]]
        mask = [torch.zeros(len(x), k + 2, dtype=torch.bool)]
        if earlier is not None:
            tokens.append(self.earlier(earlier) + self.back[: earlier.shape[1]])
            mask.append(missing)
        out = self.encoder(torch.cat(tokens, 1), src_key_padding_mask=torch.cat(mask, 1))
        return self.head(out[:, :k]).squeeze(-1)


class Attention(Diffusion):
    """The diffusion refiner with a self-attention denoiser (`_Encoder`): a row's numbers attend to each
    other, to its labels and, in a transaction log (a table with `origin` and a time), to the payer's
    `history` previous rows, so what a row becomes depends on the account's own sequence (previous
    amounts, balances, timing), as the rows of one account do in life. Training reads the real sample's
    sequences; refining, the simulated ones (the earlier rows as simulated, so rows refine in parallel)."""

    name = "attention"
    steps = 2000

    def __init__(self, random_state: int | None = None, labels: list[str] | None = None,
                 steps: int | None = None, strength: float = 0.8, history: int = 4):  # fmt: skip
        super().__init__(random_state, labels, steps, strength)
        self.history = history

    def _denoiser(self, k: int, c: int) -> nn.Module:
        return _Encoder(k, c, self.history)

    def fit(self, sim: pd.DataFrame, real: pd.DataFrame) -> Attention:
        self.reads_history_ = self._time(real) is not None  # refining reads history only if training did
        return super().fit(sim, real)

    def _time(self, frame: pd.DataFrame) -> str | None:
        """The time column of a table whose rows have payers and times (a log), else None."""
        time = next((c for c in ("timestamp", "step") if c in frame.columns), None)
        return time if self.history and "origin" in frame.columns else None

    def _context(self, frame: pd.DataFrame, x: torch.Tensor):
        """Each row's payer's previous `history` rows (their numbers) and which of them are missing, or
        None for a table without payers and times, or for a model trained without them."""
        time = self._time(frame)
        if time is None or not getattr(self, "reads_history_", True):
            return None
        payer = pd.factorize(frame["origin"])[0]
        order = np.lexsort((np.arange(len(frame)), numbers(frame, time), payer))
        place = np.empty(len(frame), np.int64)
        place[order] = np.arange(len(frame))
        back = np.arange(1, self.history + 1)
        earlier = place[:, None] - back[None, :]  # positions in payer-time order
        valid = earlier >= 0
        earlier_rows = order[np.where(valid, earlier, 0)]
        valid &= payer[earlier_rows] == payer[:, None]
        return x[torch.tensor(earlier_rows)], torch.tensor(~valid)

    def _noise(self, noisy, y, t, context, rows):
        earlier, missing = (None, None) if context is None else (context[0][rows], context[1][rows])
        return self.denoiser_(noisy, y, self._embed(t), earlier, missing)


METHODS = {"residual-gan": ResidualGAN, "vae": TabularVAE, "diffusion": Diffusion, "attention": Attention}
