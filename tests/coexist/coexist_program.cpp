// Run under LD_PRELOAD=libdbgalloc.so inside another heap tool: dbgalloc must step
// aside (one notice) and the tool must see and report the overflow by itself.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>
int main(int argc, char** argv) {
  std::vector<std::string> v;
  for (int i = 0; i < 1000; ++i) v.push_back(std::string(100, 'x') + std::to_string(i));
  char* p = static_cast<char*>(malloc(10));
  p = static_cast<char*>(realloc(p, 20));
  free(p);
  int* q = new int[4];
  delete[] q;
  if (argc > 1 && strcmp(argv[1], "overflow") == 0) {
    char* b = static_cast<char*>(malloc(8));
    b[8] = 1;
    free(b);
  }
  printf("done %zu\n", v.size());
  return 0;
}
