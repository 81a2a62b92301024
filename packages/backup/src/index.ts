export { rewriteAof, type RewriteAofOptions, type AofRewriteResult, type AofRewriteRow } from './aof-rewrite.ts'
export { renderAofRewrite } from './render-aof-rewrite.ts'
