/** Models from the Hugging Face hub, kept in a huggingface_hub-style cache; see hub-settings.ts for the layout. */
export { cachedFile, downloadFile } from "./download-file.ts"
export { HubError } from "./hub-error.ts"
export { DEFAULT_ENDPOINT, DEFAULT_REVISION, hubSettings, isRepoId, type HubOptions, type HubSettings } from "./hub-settings.ts"
export { downloadModel, MODEL_FILES, resolveModel } from "./resolve-model.ts"
