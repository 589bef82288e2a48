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

# Lesson 05 (its block and init checkers have their own names: lesson 04's generator_block is another exercise)
from .exercises.lesson05 import down_block, init_weights, name_the_failures, transposed_output_size, up_block  # noqa: E402

__all__ += [
    "transposed_output_size",
    "up_block",
    "down_block",
    "init_weights",
    "name_the_failures",
]  # lesson 05

from .exercises.lesson06 import (  # noqa: E402
    critic_loss,
    gradient_penalty,
    wasserstein_1d,
    wgan_generator_loss,
)

__all__ += ["wasserstein_1d", "critic_loss", "wgan_generator_loss", "gradient_penalty"]  # lesson 06

from .exercises.lesson07 import (  # noqa: E402
    discriminator_input,
    generator_input,
    sample_class,
    steering_step,
)

__all__ += ["generator_input", "discriminator_input", "sample_class", "steering_step"]  # lesson 07

from .exercises.lesson08 import (  # noqa: E402  (lesson 08: evaluating generative models)
    frechet_distance,
    knn_precision_recall,
    league_answers,
    matrix_sqrt,
    memorization_ratio,
)

__all__ += [
    "matrix_sqrt",
    "frechet_distance",
    "knn_precision_recall",
    "memorization_ratio",
    "league_answers",
]  # lesson 08

__all__ += ["q_sample", "epsilon_loss", "ancestral_step", "flow_matching_loss", "euler_sample"]  # lesson 09
