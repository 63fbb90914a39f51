// require('spikard') from a CommonJS file of a project that installed the package.
const spikard = require('spikard');
const { Spikard, TestClient } = spikard;

const app = new Spikard();
app.get('/hello/{name}', (req) => ({ hello: req.params.name }));
new TestClient(app).get('/hello/cjs').then((r) => {
  console.log(JSON.stringify({ resolved: require.resolve('spikard'), status: r.status, body: r.json(),
    exports: Object.keys(spikard).sort() }));
});
