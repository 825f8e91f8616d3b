// upstream-demo: placeholder until the demo web app lands.
int main() { return 1; }
