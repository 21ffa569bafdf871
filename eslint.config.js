import neostandard from 'neostandard'

export default [
  ...neostandard({ ts: true, ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'bench/results/**'] }),
  {
    rules: {
      // services.json's `${VAR}` placeholders are plain strings everywhere in this project.
      'no-template-curly-in-string': 'off'
    }
  }
]
