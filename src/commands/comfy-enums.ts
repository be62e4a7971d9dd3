/**
 * ComfyUI 0.3.64's sampler and scheduler names (KSampler `sampler_name` / `scheduler`).
 * Presets refer to these lists as `choices: samplers` / `choices: schedulers` instead of repeating them.
 * A host may offer a different list; planJob checks the chosen value against the host's catalogue.
 */
export const SAMPLERS: readonly string[] = [
  'euler', 'euler_cfg_pp', 'euler_ancestral', 'euler_ancestral_cfg_pp', 'heun', 'heunpp2', 'dpm_2',
  'dpm_2_ancestral', 'lms', 'dpm_fast', 'dpm_adaptive', 'dpmpp_2s_ancestral', 'dpmpp_2s_ancestral_cfg_pp',
  'dpmpp_sde', 'dpmpp_sde_gpu', 'dpmpp_2m', 'dpmpp_2m_cfg_pp', 'dpmpp_2m_sde', 'dpmpp_2m_sde_gpu',
  'dpmpp_2m_sde_heun', 'dpmpp_2m_sde_heun_gpu', 'dpmpp_3m_sde', 'dpmpp_3m_sde_gpu', 'ddpm', 'lcm', 'ipndm',
  'ipndm_v', 'deis', 'res_multistep', 'res_multistep_cfg_pp', 'res_multistep_ancestral',
  'res_multistep_ancestral_cfg_pp', 'gradient_estimation', 'gradient_estimation_cfg_pp', 'er_sde', 'seeds_2',
  'seeds_3', 'sa_solver', 'sa_solver_pece', 'ddim', 'uni_pc', 'uni_pc_bh2',
];

export const SCHEDULERS: readonly string[] = [
  'simple', 'sgm_uniform', 'karras', 'exponential', 'ddim_uniform', 'beta', 'normal', 'linear_quadratic', 'kl_optimal',
];

/** Named lists a preset's `choices:` may refer to. `styles` is filled from the preset's own styles. */
export const NAMED_CHOICE_LISTS: Record<string, readonly string[]> = {
  samplers: SAMPLERS,
  schedulers: SCHEDULERS,
  image_upscale_methods: ['nearest-exact', 'bilinear', 'area', 'bicubic', 'lanczos'],
  latent_upscale_methods: ['nearest-exact', 'bilinear', 'area', 'bicubic', 'bislerp'],
};
