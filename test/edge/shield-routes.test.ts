// Method and path allow-lists (issue #4 design, request evaluation step 4): 405 with Allow for a
// method not listed, 403 for a path not listed, matched on the normalised path.
import t from 'tap'
import { compileRoutes } from '../../src/edge/shield/routes.js'
import { normaliseTarget } from '../../src/edge/shield/paths.js'

t.test('#4 path patterns: exact, "/prefix/*" (any depth, not the bare prefix) and "*"', async (t) => {
  const routes = compileRoutes({ paths: ['/public/*', '/health'] })
  const cases: Array<[string, 'ok' | 'path']> = [
    ['/health', 'ok'],
    ['/health/', 'path'],
    ['/health/x', 'path'],
    ['/healthz', 'path'],
    ['/public/', 'ok'],
    ['/public/a', 'ok'],
    ['/public/a/b/c.css', 'ok'],
    ['/public', 'path'],
    ['/publicity', 'path'],
    ['/public;/x', 'path'],
    ['/PUBLIC/a', 'path'],
    ['/admin', 'path'],
    ['/admin;/public/', 'path'],
    ['/', 'path'],
  ]
  for (const [path, verdict] of cases) t.equal(routes.check('GET', path), verdict, path)

  const all = compileRoutes({ paths: ['*'] })
  for (const path of ['/', '/admin', '/a/b/c']) t.equal(all.check('DELETE', path), 'ok', `"*" allows ${path}`)
  const root = compileRoutes({ paths: ['/*'] })
  for (const path of ['/', '/admin', '/a/b/c']) t.equal(root.check('GET', path), 'ok', `"/*" allows ${path}`)
  const onlyRoot = compileRoutes({ paths: ['/'] })
  t.equal(onlyRoot.check('GET', '/'), 'ok', 'exact "/" allows /')
  t.equal(onlyRoot.check('GET', '/a'), 'path', 'exact "/" is not a prefix')
})

t.test('#4 methods: listed ones pass, HEAD comes with GET, others are 405 with an Allow list', async (t) => {
  const routes = compileRoutes({ methods: ['GET', 'post'], paths: ['*'] })
  const cases: Array<[string, 'ok' | 'method']> = [
    ['GET', 'ok'],
    ['HEAD', 'ok'],
    ['POST', 'ok'],
    ['PUT', 'method'],
    ['DELETE', 'method'],
    ['OPTIONS', 'method'],
    ['CONNECT', 'method'],
    ['get', 'method'],
  ]
  for (const [method, verdict] of cases) t.equal(routes.check(method, '/'), verdict, method)
  t.equal(routes.allowHeader, 'GET, HEAD, POST')

  const postOnly = compileRoutes({ methods: ['POST'] })
  t.equal(postOnly.check('HEAD', '/'), 'method', 'HEAD is not implied without GET')
  t.equal(postOnly.allowHeader, 'POST')
  const dup = compileRoutes({ methods: ['HEAD', 'GET', 'GET'] })
  t.equal(dup.allowHeader, 'HEAD, GET', 'listed once each')
})

t.test('#4 the method is checked before the path; absent lists allow everything, empty lists nothing', async (t) => {
  const routes = compileRoutes({ methods: ['GET'], paths: ['/public/*'] })
  t.equal(routes.check('POST', '/admin'), 'method', 'wrong method and path: 405 wins')
  t.equal(routes.check('GET', '/admin'), 'path')
  t.equal(routes.check('GET', '/public/x'), 'ok')

  const open = compileRoutes({})
  t.equal(open.check('PATCH', '/anything'), 'ok')
  t.equal(open.allowHeader, '')
  const methodsOnly = compileRoutes({ methods: ['GET'] })
  t.equal(methodsOnly.check('GET', '/anything'), 'ok')
  const pathsOnly = compileRoutes({ paths: ['/x'] })
  t.equal(pathsOnly.check('BREW', '/x'), 'ok')
  t.equal(pathsOnly.allowHeader, '')

  const none = compileRoutes({ methods: [], paths: [] })
  t.equal(none.check('GET', '/'), 'method', 'an empty method list allows no method')
  t.equal(none.allowHeader, '')
  t.equal(compileRoutes({ paths: [] }).check('GET', '/'), 'path', 'an empty path list allows no path')
})

t.test('#4 patterns are normalised like request paths', async (t) => {
  const routes = compileRoutes({ paths: ['/caf%c3%a9', '/%7Euser/*', '/a/./b/../c/*', '//docs'] })
  t.equal(routes.check('GET', '/caf%C3%A9'), 'ok', 'hex case')
  t.equal(routes.check('GET', '/~user/page'), 'ok', 'unreserved escape')
  t.equal(routes.check('GET', '/a/c/x'), 'ok', 'dot-segments in the pattern')
  t.equal(routes.check('GET', '/docs'), 'ok', 'repeated slashes in the pattern')
})

t.test('#4 invalid patterns and methods are refused at compile time', async (t) => {
  const badPaths = ['', 'public/*', '/public*', '/pub*/x', '/*/x', '**', '/a?b', '/a/%2f', '/a\\b', '/a%zz', '/a/..;/b']
  for (const pattern of badPaths) {
    t.throws(() => compileRoutes({ paths: [pattern] }), TypeError, JSON.stringify(pattern))
  }
  for (const method of ['', 'GE T', 'GET\r\n', 'G(ET)']) {
    t.throws(() => compileRoutes({ methods: [method] }), TypeError, JSON.stringify(method))
  }
})

t.test('#4 traversal tricks against "/public/*": normalised, then denied or inside /public/', async (t) => {
  const routes = compileRoutes({ methods: ['GET'], paths: ['/public/*'] })
  const verdictOf = (target: string): string => {
    const n = normaliseTarget(target)
    return n === undefined ? '400' : `${routes.check('GET', n.path)} ${n.path}`
  }
  const cases: Array<[string, string]> = [
    ['/public/../admin', 'path /admin'],
    ['/public/%2e%2e/admin', 'path /admin'],
    ['/public/%2E%2E%2fadmin', '400'],
    ['/public/..%2fadmin', '400'],
    ['/public/%252e%252e/admin', 'ok /public/%252e%252e/admin'],
    ['//admin', 'path /admin'],
    ['//public/x', 'ok /public/x'],
    ['/public//../admin', 'path /admin'],
    ['/public/.%2e/admin', 'path /admin'],
    ['/public;/../admin', 'path /admin'],
    ['/public/;/../admin', 'ok /public/admin'],
    ['/public/..;/admin', '400'],
    ['/admin;/public/', 'path /admin;/public/'],
    ['/public\\..\\admin', '400'],
    ['/public/%5c..%5cadmin', '400'],
    ['/PUBLIC/x', 'path /PUBLIC/x'],
    ['/public%00/../admin', '400'],
    ['/admin?x=/public/', 'path /admin'],
    ['/%70ublic/x', 'ok /public/x'],
    ['/public/%7Euser', 'ok /public/~user'],
  ]
  for (const [target, expected] of cases) t.equal(verdictOf(target), expected, target)
})
