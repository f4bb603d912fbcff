// Command gotruth prints, for the Go modules under a folder, every identifier that denotes a
// package-level object, a method, an interface method or a struct field of those modules, as
// go/types resolves it: the independent ground truth git-ripple's references are measured
// against.
//
// Usage: gotruth DIR
//
// Each output line is `path:line:column<TAB>id`, path relative to DIR, id in git-ripple's form
// (`import/path.Name`, `import/path.Type.Method`, `import/path.Type.Field`; `…_test` for an
// external test package). Files are type-checked once per configuration (GOOS linux, darwin,
// windows, js; an older release for `!go1.22` files), since
// files of different configurations may declare the same name; the uses are united by
// position. Only the standard library is used (go/parser, go/types, the source importer).
package main

import (
	"bufio"
	"fmt"
	"go/ast"
	"go/build"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

type module struct {
	dir, path string
	// replace: import path prefix → folder, for `replace x => ../y` directives.
	replace map[string]string
	// require: module path → version, to find dependencies in the module cache.
	require map[string]string
}

type checker struct {
	root    string
	modules []module
	ctx     build.Context
	fset    *token.FileSet
	std     types.Importer
	done    map[string]*types.Package
	out     map[string]bool
	// depDirs: module cache folder → module path of the dependencies loaded.
	depDirs map[string]string
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gotruth DIR")
		os.Exit(2)
	}
	root, err := filepath.Abs(os.Args[1])
	if err != nil {
		panic(err)
	}
	modules := findModules(root)
	out := map[string]bool{}
	fset := token.NewFileSet()
	std := importer.ForCompiler(fset, "source", nil)
	for _, config := range []struct{ goos, goarch, release string }{
		{"linux", "amd64", ""}, {"darwin", "arm64", ""}, {"windows", "amd64", ""},
		{"js", "wasm", ""}, {"linux", "amd64", "go1.21"},
	} {
		ctx := build.Default
		ctx.GOOS, ctx.GOARCH = config.goos, config.goarch
		ctx.CgoEnabled = false
		if config.release != "" {
			// An older toolchain's files (`//go:build !go1.22`).
			for i, tag := range ctx.ReleaseTags {
				if tag == config.release {
					ctx.ReleaseTags = ctx.ReleaseTags[:i+1]
				}
			}
		}
		c := &checker{root: root, modules: modules, ctx: ctx, fset: fset, std: std,
			done: map[string]*types.Package{}, out: out, depDirs: map[string]string{}}
		for _, m := range modules {
			for _, dir := range c.packageDirs(m) {
				c.checkWithTests(m, dir)
			}
		}
	}
	lines := make([]string, 0, len(out))
	for l := range out {
		lines = append(lines, l)
	}
	sort.Strings(lines)
	w := bufio.NewWriter(os.Stdout)
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
	w.Flush()
}

func findModules(root string) []module {
	var mods []module
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "vendor") {
			return filepath.SkipDir
		}
		if d.Name() != "go.mod" {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		m := module{dir: filepath.Dir(p), replace: map[string]string{}, require: map[string]string{}}
		inRequire := false
		for _, line := range strings.Split(string(data), "\n") {
			f := strings.Fields(line)
			switch {
			case len(f) >= 2 && f[0] == "require" && f[1] == "(":
				inRequire = true
			case len(f) >= 1 && f[0] == ")":
				inRequire = false
			case len(f) >= 3 && f[0] == "require":
				m.require[f[1]] = f[2]
			case inRequire && len(f) >= 2:
				m.require[f[0]] = f[1]
			}
			if len(f) >= 2 && f[0] == "module" {
				m.path = strings.Trim(f[1], `"`)
			}
			// replace x => ../y   (also inside a replace block: x => ../y)
			if i := indexOf(f, "=>"); i > 0 && i+1 < len(f) {
				target := f[i+1]
				if strings.HasPrefix(target, ".") {
					from := f[0]
					if from == "replace" {
						from = f[1]
					}
					m.replace[from] = filepath.Join(m.dir, target)
				}
			}
		}
		mods = append(mods, m)
		return nil
	})
	return mods
}

func indexOf(xs []string, s string) int {
	for i, x := range xs {
		if x == s {
			return i
		}
	}
	return -1
}

// moduleOf is the deepest module containing dir.
func (c *checker) moduleOf(dir string) *module {
	var best *module
	for i := range c.modules {
		m := &c.modules[i]
		if dir == m.dir || strings.HasPrefix(dir, m.dir+string(filepath.Separator)) {
			if best == nil || len(m.dir) > len(best.dir) {
				best = m
			}
		}
	}
	return best
}

// packageDirs lists the folders of module m that hold Go files (not those of nested modules).
func (c *checker) packageDirs(m module) []string {
	var dirs []string
	filepath.WalkDir(m.dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		// `_x`, `.x` and testdata folders are skipped by `./...` but still build (`go build
		// ./_examples/x`): their uses count.
		if d.Name() == ".git" || d.Name() == "vendor" {
			return filepath.SkipDir
		}
		if own := c.moduleOf(p); own == nil || own.dir != m.dir {
			return filepath.SkipDir
		}
		dirs = append(dirs, p)
		return nil
	})
	return dirs
}

// importPath of a folder, and the folder of an import path seen from module `from`.
func (c *checker) importPath(dir string) string {
	for depDir, mod := range c.depDirs {
		if dir == depDir {
			return mod
		}
		if strings.HasPrefix(dir, depDir+string(filepath.Separator)) {
			rel, _ := filepath.Rel(depDir, dir)
			return mod + "/" + filepath.ToSlash(rel)
		}
	}
	m := c.moduleOf(dir)
	rel, _ := filepath.Rel(m.dir, dir)
	if rel == "." {
		return m.path
	}
	return m.path + "/" + filepath.ToSlash(rel)
}

func (c *checker) folder(path string, from *module) (string, bool) {
	try := func(prefix, dir string) (string, bool) {
		if path == prefix {
			return dir, true
		}
		if strings.HasPrefix(path, prefix+"/") {
			return filepath.Join(dir, filepath.FromSlash(path[len(prefix)+1:])), true
		}
		return "", false
	}
	// The importing module itself (nested modules under it are other modules).
	if d, ok := try(from.path, from.dir); ok {
		if m := c.moduleOf(d); m != nil && m.dir == from.dir {
			return d, true
		}
	}
	for prefix, dir := range from.replace {
		if d, ok := try(prefix, dir); ok {
			return d, true
		}
	}
	return "", false
}

// files of dir for this configuration: non-test, in-package tests, external tests.
func (c *checker) files(dir string) (lib, internal, external []*ast.File) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") {
			continue
		}
		if ok, err := c.ctx.MatchFile(dir, name); err != nil || !ok {
			continue
		}
		f, err := parser.ParseFile(c.fset, filepath.Join(dir, name), nil, parser.ParseComments)
		if err != nil {
			continue
		}
		switch {
		case !strings.HasSuffix(name, "_test.go"):
			lib = append(lib, f)
		case strings.HasSuffix(f.Name.Name, "_test"):
			external = append(external, f)
		default:
			internal = append(internal, f)
		}
	}
	return
}

type dirImporter struct {
	c    *checker
	from *module
}

func (d dirImporter) Import(path string) (*types.Package, error) {
	if dir, ok := d.c.folder(path, d.from); ok {
		return d.c.load(dir), nil
	}
	if dir, ok := d.c.dependency(path); ok {
		return d.c.load(dir), nil
	}
	return d.c.std.Import(path)
}

// dependency finds an import of a required module in the module cache (`go mod download`
// fills it), by the requirements of the repository's modules.
func (c *checker) dependency(path string) (string, bool) {
	cache := os.Getenv("GOMODCACHE")
	if cache == "" {
		gopath := os.Getenv("GOPATH")
		if gopath == "" {
			gopath = filepath.Join(os.Getenv("HOME"), "go")
		}
		cache = filepath.Join(filepath.SplitList(gopath)[0], "pkg", "mod")
	}
	best, version := "", ""
	for _, m := range c.modules {
		for mod, v := range m.require {
			if (path == mod || strings.HasPrefix(path, mod+"/")) && len(mod) > len(best) {
				best, version = mod, v
			}
		}
	}
	if best == "" {
		return "", false
	}
	dir := filepath.Join(cache, escape(best)+"@"+version)
	if _, err := os.Stat(dir); err != nil {
		return "", false
	}
	if _, known := c.depDirs[dir]; !known {
		c.depDirs[dir] = best
	}
	return filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(path[len(best):], "/"))), true
}

// escape is the module cache's case encoding (`Azure` → `!azure`).
func escape(path string) string {
	var b strings.Builder
	for _, r := range path {
		if 'A' <= r && r <= 'Z' {
			b.WriteByte('!')
			b.WriteRune(r + ('a' - 'A'))
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// load type-checks a folder's non-test files (what an import of it sees).
func (c *checker) load(dir string) *types.Package {
	if p, ok := c.done[dir]; ok {
		return p
	}
	lib, _, _ := c.files(dir)
	pkg, _ := c.check(dir, c.importPath(dir), lib, nil)
	c.done[dir] = pkg
	return pkg
}

func (c *checker) check(dir, path string, files []*ast.File, info *types.Info) (*types.Package, error) {
	from := c.moduleOf(dir)
	if from == nil {
		from = &module{} // a dependency: its imports are found by the requirements
	}
	conf := types.Config{
		Importer:    dirImporter{c, from},
		Error:       func(error) {},
		FakeImportC: true,
	}
	return conf.Check(path, c.fset, files, info)
}

func (c *checker) checkWithTests(m module, dir string) {
	lib, internal, external := c.files(dir)
	path := c.importPath(dir)
	if len(lib)+len(internal) > 0 {
		info := newInfo()
		if pkg, _ := c.check(dir, path, append(append([]*ast.File{}, lib...), internal...), info); pkg != nil {
			c.record(info)
		}
	}
	if len(external) > 0 {
		info := newInfo()
		if pkg, _ := c.check(dir, path+"_test", external, info); pkg != nil {
			c.record(info)
		}
	}
}

func newInfo() *types.Info {
	return &types.Info{
		Defs: map[*ast.Ident]types.Object{},
		Uses: map[*ast.Ident]types.Object{},
	}
}

func (c *checker) inRepo(pkg *types.Package) bool {
	if pkg == nil {
		return false
	}
	for _, m := range c.modules {
		p := strings.TrimSuffix(pkg.Path(), "_test")
		if p == m.path || strings.HasPrefix(p, m.path+"/") {
			return true
		}
	}
	return false
}

// owners maps the fields and interface methods of a package's named types to the type.
func owners(pkg *types.Package) map[types.Object]string {
	out := map[types.Object]string{}
	scope := pkg.Scope()
	for _, name := range scope.Names() {
		tn, ok := scope.Lookup(name).(*types.TypeName)
		if !ok || tn.IsAlias() {
			continue
		}
		switch u := tn.Type().Underlying().(type) {
		case *types.Struct:
			if tn.Type().(*types.Named).Origin().Underlying() != u {
				continue // `type B A`: the fields are A's
			}
			for i := 0; i < u.NumFields(); i++ {
				out[u.Field(i)] = name
			}
		case *types.Interface:
			if _, direct := tn.Type().(*types.Named); !direct {
				continue
			}
			for i := 0; i < u.NumExplicitMethods(); i++ {
				out[u.ExplicitMethod(i)] = name
			}
		}
	}
	return out
}

var ownerCache = map[*types.Package]map[types.Object]string{}

func (c *checker) id(obj types.Object) string {
	pkg := obj.Pkg()
	if !c.inRepo(pkg) {
		return ""
	}
	switch o := obj.(type) {
	case *types.PkgName, *types.Label:
		return ""
	case *types.Func:
		o = o.Origin()
		sig := o.Type().(*types.Signature)
		if recv := sig.Recv(); recv != nil {
			t := recv.Type()
			if p, ok := t.(*types.Pointer); ok {
				t = p.Elem()
			}
			if n, ok := t.(*types.Named); ok {
				if _, isIface := n.Underlying().(*types.Interface); !isIface {
					return pkg.Path() + "." + n.Origin().Obj().Name() + "." + o.Name()
				}
			}
			return c.owned(o)
		}
	case *types.Var:
		if o.IsField() {
			return c.owned(o.Origin())
		}
	}
	if obj.Parent() != pkg.Scope() {
		return "" // a local
	}
	return pkg.Path() + "." + obj.Name()
}

func (c *checker) owned(obj types.Object) string {
	m, ok := ownerCache[obj.Pkg()]
	if !ok {
		m = owners(obj.Pkg())
		ownerCache[obj.Pkg()] = m
	}
	owner, ok := m[obj]
	if !ok {
		return ""
	}
	return obj.Pkg().Path() + "." + owner + "." + obj.Name()
}

func (c *checker) record(info *types.Info) {
	emit := func(ident *ast.Ident, obj types.Object) {
		if obj == nil || ident.Name == "_" {
			return
		}
		id := c.id(obj)
		if id == "" {
			return
		}
		pos := c.fset.Position(ident.Pos())
		rel, err := filepath.Rel(c.root, pos.Filename)
		if err != nil {
			return
		}
		c.out[fmt.Sprintf("%s:%d:%d\t%s", filepath.ToSlash(rel), pos.Line, pos.Column, id)] = true
	}
	for ident, obj := range info.Defs {
		emit(ident, obj)
	}
	for ident, obj := range info.Uses {
		emit(ident, obj)
	}
}
