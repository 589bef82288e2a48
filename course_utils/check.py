"""Every exercise checker, by name: ``from course_utils import check`` then ``check.flatten_batch(flatten_batch)``.

Each lesson's checkers live in ``course_utils/exercises/lessonNN.py``; this module gathers them in one place.
"""

from .exercises.core import summary
from .exercises.lesson00 import flatten_batch, to_minus_one_one
from .exercises.lesson01 import (
    fit_gaussian,
    posterior,
    real_fake_bce,
    sample_gaussian,
    shared_covariance_logits,
)
from .exercises.lesson02 import (
    encode_decode,
    interpolate_codes,
    make_decoder,
    make_encoder,
    reconstruction_loss,
)
from .exercises.lesson03 import (
    iwae_bound,
    kl_divergence,
    negative_elbo,
    reparameterize,
    sample_from_prior,
)
from .exercises.lesson04 import (
    discriminator_block,
    discriminator_loss,
    generator_block,
    generator_loss,
    train_step,
)
from .exercises.lesson09 import (
    ancestral_step,
    epsilon_loss,
    euler_sample,
    flow_matching_loss,
    q_sample,
)

__all__ = ["summary", "flatten_batch", "to_minus_one_one"]
__all__ += [
    "fit_gaussian",
    "sample_gaussian",
    "posterior",
    "shared_covariance_logits",
    "real_fake_bce",
]  # lesson 01
__all__ += ["make_encoder", "make_decoder", "reconstruction_loss"]  # lesson 02
__all__ += ["encode_decode", "interpolate_codes"]  # lesson 02
__all__ += [
    "reparameterize",
    "kl_divergence",
    "negative_elbo",
    "sample_from_prior",
    "iwae_bound",
]  # lesson 03
__all__ += [
    "discriminator_loss",
    "generator_loss",
    "generator_block",
    "discriminator_block",
    "train_step",
]  # lesson 04
__all__ += ["q_sample", "epsilon_loss", "ancestral_step", "flow_matching_loss", "euler_sample"]  # lesson 09
