"""``MiniT2IPipeline``: text-to-image diffusion in pixel space, with no VAE.

The mini zoo's models are small enough to denoise 32-px RGB images directly, so a latent autoencoder
would only add a second network to pretrain. This pipeline is the Stable Diffusion loop without the
VAE: a CLIP text encoder conditions a ``UNet2DConditionModel`` through cross-attention, classifier-
free guidance mixes the conditional and unconditional predictions (Ho & Salimans, 2022), and any
diffusers scheduler steps the sample. It is an ordinary ``DiffusionPipeline``: ``save_pretrained``
writes a ``model_index.json`` plus one folder per component (safetensors weights), and
``MiniT2IPipeline.from_pretrained`` reads a local folder or a Hub repo the same way.
"""

from __future__ import annotations

import torch
from diffusers import DiffusionPipeline, ImagePipelineOutput
from diffusers.utils.torch_utils import randn_tensor


class MiniT2IPipeline(DiffusionPipeline):
    """Pixel-space text-to-image: ``unet``, ``text_encoder``, ``tokenizer``, ``scheduler``."""

    model_cpu_offload_seq = "text_encoder->unet"

    def __init__(self, unet, text_encoder, tokenizer, scheduler):
        super().__init__()
        self.register_modules(unet=unet, text_encoder=text_encoder, tokenizer=tokenizer,
                              scheduler=scheduler)

    @property
    def resolution(self) -> int:
        return int(self.unet.config.sample_size)

    def encode_prompt(self, prompts: list[str]) -> torch.Tensor:
        """Last hidden states of the text encoder per prompt (padded to the tokenizer's max)."""
        tokens = self.tokenizer(prompts, padding="max_length", truncation=True,
                                max_length=self.tokenizer.model_max_length, return_tensors="pt")
        input_ids = tokens.input_ids.to(self.text_encoder.device)
        return self.text_encoder(input_ids)[0]

    @torch.no_grad()
    def __call__(self, prompt: str | list[str], num_inference_steps: int = 25,
                 guidance_scale: float = 3.0, generator=None, output_type: str = "pil",
                 return_dict: bool = True):
        """Generate one image per prompt; ``generator`` may be one generator or one per prompt."""
        prompts = [prompt] if isinstance(prompt, str) else list(prompt)
        if not prompts:
            raise ValueError("prompt is empty: give at least one caption")
        if isinstance(generator, list) and len(generator) != len(prompts):
            raise ValueError(f"got {len(generator)} generators for {len(prompts)} prompts")
        device = self.unet.device
        dtype = self.unet.dtype
        guided = guidance_scale > 1.0

        text = self.encode_prompt(prompts)
        if guided:
            text = torch.cat([self.encode_prompt([""] * len(prompts)), text])
        shape = (len(prompts), self.unet.config.in_channels, self.resolution, self.resolution)
        sample = randn_tensor(shape, generator=generator, device=device, dtype=dtype)
        sample = sample * self.scheduler.init_noise_sigma

        self.scheduler.set_timesteps(num_inference_steps, device=device)
        for t in self.progress_bar(self.scheduler.timesteps):
            model_input = torch.cat([sample] * 2) if guided else sample
            model_input = self.scheduler.scale_model_input(model_input, t)
            prediction = self.unet(model_input, t, encoder_hidden_states=text.to(dtype)).sample
            if guided:
                unconditional, conditional = prediction.chunk(2)
                prediction = unconditional + guidance_scale * (conditional - unconditional)
            sample = self.scheduler.step(prediction, t, sample, generator=generator).prev_sample

        images = (sample / 2 + 0.5).clamp(0, 1).permute(0, 2, 3, 1).float().cpu().numpy()
        if output_type == "pil":
            images = self.numpy_to_pil(images)
        elif output_type == "pt":
            images = torch.from_numpy(images).permute(0, 3, 1, 2)
        elif output_type != "np":
            raise ValueError(f"output_type must be 'pil', 'np' or 'pt', not {output_type!r}")
        if not return_dict:
            return (images,)
        return ImagePipelineOutput(images=images)
