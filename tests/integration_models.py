"""Tiny Qwen2-VL / Qwen2.5-VL processors and models built locally, for the trainer tests.

No model hub is reachable in CI, so the tokenizer is a byte-level BPE with
no merges (every byte a token) plus Qwen's chat and vision special tokens,
the image processor is transformers' own Qwen2-VL one with a small pixel
budget (so an image becomes a handful of patches), and the models are
randomly initialised from a config with a few hundred thousand weights.
The processor is the real ``Qwen2VLProcessor`` / ``Qwen2_5_VLProcessor``:
it expands ``<|image_pad|>`` into one token per merged patch, which is the
layout OpenRLHF decodes and TRL feeds to the model. The tests folder is not a
package; test files import this module by name (pytest puts the folder on
``sys.path``).
"""

from __future__ import annotations

from typing import Any

SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
           "<|image_pad|>", "<|video_pad|>", "<|vision_pad|>"]
THINK_TAGS = ["<think>", "</think>"]
"""Added as ordinary (non-special) tokens, as Qwen3's tokenizer has them: TRL decodes completions with
``skip_special_tokens=True``, which would strip special tags and leave the format term nothing to see."""

# Qwen2-VL's chat template, reduced to what the tests use (text and image blocks).
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for block in message['content'] %}"
    "{% if block['type'] == 'image' %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif block['type'] == 'text' %}{{ block['text'] }}{% endif %}{% endfor %}{% endif %}"
    "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
MIN_PIXELS = 4 * 28 * 28
MAX_PIXELS = 16 * 28 * 28


def tiny_tokenizer() -> Any:
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {c: i for i, c in enumerate(pre_tokenizers.ByteLevel.alphabet())}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tok.decoder = decoders.ByteLevel()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    fast.add_special_tokens({"additional_special_tokens": [t for t in SPECIAL if t not in ("<|im_end|>", "<|endoftext|>")]})
    fast.add_tokens([AddedToken(t, special=False, normalized=False) for t in THINK_TAGS])
    fast.chat_template = CHAT_TEMPLATE
    return fast


def byte_tokenizer() -> Any:
    """A byte-level tokenizer with ``<pad>`` and ``<eos>``: enough for a causal LM that GRPOTrainer can step."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {c: i for i, c in enumerate(pre_tokenizers.ByteLevel.alphabet())}
    vocab["<pad>"] = len(vocab)
    vocab["<eos>"] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>")


def tiny_causal_lm(tokenizer: Any) -> Any:
    """A one-layer Qwen2 language model over ``tokenizer``'s vocabulary, built from a config (no weights to fetch)."""
    from transformers import Qwen2Config, Qwen2ForCausalLM

    return Qwen2ForCausalLM(Qwen2Config(
        vocab_size=len(tokenizer), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        num_key_value_heads=1, intermediate_size=32, pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id, bos_token_id=tokenizer.eos_token_id,
    ))


def tiny_processor(family: str = "qwen2_5_vl") -> Any:
    """A real Qwen2(.5)-VL processor over the tiny tokenizer; 4..16 merged patches per image."""
    from transformers import Qwen2VLImageProcessor

    tokenizer = tiny_tokenizer()
    image_processor = Qwen2VLImageProcessor(min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS)
    try:
        from transformers import Qwen2VLVideoProcessor
        video_processor = Qwen2VLVideoProcessor()
    except Exception:  # noqa: BLE001 - older transformers: no video processor needed
        video_processor = None
    if family == "qwen2_vl":
        from transformers import Qwen2VLProcessor as cls
    else:
        from transformers import Qwen2_5_VLProcessor as cls
    kwargs = {"video_processor": video_processor} if video_processor is not None else {}
    return cls(image_processor=image_processor, tokenizer=tokenizer, chat_template=CHAT_TEMPLATE, **kwargs)


def tiny_qwen25_vl(processor: Any) -> Any:
    """A randomly initialised Qwen2.5-VL with one text and one vision layer."""
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    tok = processor.tokenizer
    ids = {t: tok.convert_tokens_to_ids(t) for t in SPECIAL}
    config = Qwen2_5_VLConfig(
        text_config={"vocab_size": len(tok), "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
                     "num_attention_heads": 2, "num_key_value_heads": 1, "rope_scaling": {"type": "mrope", "mrope_section": [2, 3, 3]},
                     "max_position_embeddings": 4096, "pad_token_id": ids["<|endoftext|>"],
                     "eos_token_id": ids["<|im_end|>"], "bos_token_id": ids["<|endoftext|>"]},
        vision_config={"depth": 1, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2, "out_hidden_size": 32,
                       "patch_size": 14, "spatial_merge_size": 2, "temporal_patch_size": 2, "window_size": 56,
                       "fullatt_block_indexes": [0]},
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
        pad_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|im_end|>"],
    )
    return Qwen2_5_VLForConditionalGeneration(config)
